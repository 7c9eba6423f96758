"""Draw the autograd graph: ops, parameters, gradients, timings and modules.

from autograd_cv import viz
with viz.record_grads() as rec, viz.profile() as prof:
    loss = F.cross_entropy(model(x), y)
    loss.backward()
g = viz.draw_graph(loss, model=model, show_grads=rec, profile=prof)
viz.render(g, "graph.svg")          # or just `g` in Jupyter
print(prof.table())
"""

from autograd_cv.viz.draw import draw_graph
from autograd_cv.viz.recorders import (
    GradRecorder,
    NodeGrads,
    OpTiming,
    Profiler,
    profile,
    record_grads,
)
from autograd_cv.viz.render import Diagram, DotNotFoundError, install_hint, render

__all__ = [
    "Diagram",
    "DotNotFoundError",
    "GradRecorder",
    "NodeGrads",
    "OpTiming",
    "Profiler",
    "draw_graph",
    "install_hint",
    "profile",
    "record_grads",
    "render",
]
