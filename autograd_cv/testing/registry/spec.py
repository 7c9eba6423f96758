"""`OpSpec`, the registry's row, and the list the rows go into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd_cv.autograd.node import Node
from autograd_cv.testing import strategies as S


@dataclass(frozen=True)
class OpSpec:
    """One registry row: how to draw inputs for an op and how to check it."""

    #: unique row name, e.g. "mul" or "conv2d-groups"
    name: str
    #: the function under test; takes the drawn inputs (Tensors where `wrt`, raw otherwise)
    fn: Callable[..., Any]
    #: zero-argument callable returning a hypothesis strategy of a tuple of input values
    inputs: Callable[[], Any]
    #: the Node classes this row exercises (checked against the graph it builds)
    nodes: tuple[type[Node], ...]
    #: positions of the inputs to differentiate (float64 Tensors requiring grad)
    wrt: tuple[int, ...] = (0,)
    atol: float = 1e-5
    rtol: float = 1e-3
    #: also check second derivatives (ops whose vjp is built from differentiable ops)
    gradgrad: bool = True
    #: False for comparisons and other ops with no gradient: only the forward is checked
    differentiable: bool = True
    #: optional independent reference forward on float64 ndarrays (same arguments as fn)
    reference: Callable[..., Any] | None = None
    #: check that float32 inputs give a float32 result close to the float64 one
    float32: bool = True
    #: hypothesis max_examples multiplier for expensive rows (1.0 = the profile's default)
    examples: float = 1.0


OPS: list[OpSpec] = []


def register(*specs: OpSpec) -> None:
    """Add rows to the registry; a repeated name is an error."""
    names = {s.name for s in OPS}
    for spec in specs:
        if spec.name in names:
            raise ValueError(f"registry: a row named {spec.name!r} already exists")
        names.add(spec.name)
        OPS.append(spec)


def unary(low: float = -2.0, high: float = 2.0, kinks: tuple[float, ...] = ()):
    """A row's `draw` for one-input ops: arrays in [low, high], kept away from `kinks`."""

    def draw():
        values = S.arrays(S.shapes(), low=low, high=high)
        if kinks:
            values = S.away_from(values, kinks)
        return values.map(lambda a: (a,))

    return draw
