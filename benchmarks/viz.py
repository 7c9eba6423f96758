"""How long drawing takes: DOT source for long chains and an MLP training step, and dot itself.

    PYTHONPATH=. python benchmarks/viz.py

Building the DOT text (`draw_graph`) is pure Python and scales linearly with the graph;
rendering runs Graphviz's `dot`, which dominates for big graphs. There is no PyTorch
equivalent in the same process to compare against (torchviz is a separate package), so
the figures are absolute, and the 10,000-op chain's time is the one to watch.
"""

from __future__ import annotations

import shutil

import numpy as np
from _harness import describe, environment, median_seconds

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, viz


def chain(length: int) -> ag.Tensor:
    """A chain of `length` negations ending in a sum."""
    x = ag.tensor(np.ones(4, dtype=np.float32), requires_grad=True, name="x")
    y = x
    for _ in range(length):
        y = -y
    return y.sum()


def main() -> None:
    """Print median times for building DOT text and for rendering it."""
    print(describe(environment("ours")))
    for length in (1_000, 10_000):
        loss = chain(length)
        seconds = median_seconds(lambda loss=loss: viz.draw_graph(loss).source, repeats=3)
        print(f"draw_graph, {length:>6}-op chain: {seconds * 1e3:8.1f} ms DOT text")
        with viz.record_grads() as rec:
            loss.backward()
        seconds = median_seconds(
            lambda loss=loss, rec=rec: viz.draw_graph(loss, show_grads=rec).source, repeats=3
        )
        print(f"  with show_grads:            {seconds * 1e3:8.1f} ms")

    model = models.MLP([784, 256, 256, 10])
    x = ag.tensor(np.random.default_rng(0).standard_normal((32, 784), dtype=np.float32))
    y = ag.tensor(np.arange(32) % 10)
    loss = F.cross_entropy(model(x), y)
    seconds = median_seconds(lambda: viz.draw_graph(loss, model=model).source)
    print(f"draw_graph, MLP step with modules:    {seconds * 1e3:8.1f} ms DOT text")
    if shutil.which("dot"):
        graph = viz.draw_graph(loss, model=model)
        seconds = median_seconds(lambda: graph.pipe(format="svg"), repeats=3)
        print(f"dot -Tsvg, MLP step:                  {seconds * 1e3:8.1f} ms")
        graph = viz.draw_graph(chain(1_000))
        seconds = median_seconds(lambda: graph.pipe(format="svg"), repeats=1, warmup=0)
        print(f"dot -Tsvg, 1,000-op chain:            {seconds * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
