"""Moving tensors between devices: `x.to("cuda")`, `x.cpu()`, differentiable as in torch."""

from __future__ import annotations

from typing import Any

from autograd_cv import backend
from autograd_cv.autograd.node import Node
from autograd_cv.devices import device, resolve
from autograd_cv.tensor import Tensor


class ToDevice(Node):
    """A copy of the input on another device; its vjp moves the cotangent back."""

    name = "to"
    saves_inputs = False

    def __init__(self, target: device) -> None:
        self.target = target
        self.source: device | None = None

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.target)

    def vjp(self, grad, out, x):
        return (ToDevice(self.source)(grad),)


def to_device(x: Tensor, where: Any) -> Tensor:
    """`x` on device `where` (`x` itself when it is already there); gradients flow back."""
    target = resolve(where, "to")
    if x.device == target or (target.index is None and x.device.type == target.type):
        return x
    return ToDevice(target)(x)
