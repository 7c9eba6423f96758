"""The graph: Node, grad mode, and the backward driver."""
