"""Linear, Identity and Flatten layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.nn import init
from autograd_cv.nn._checks import count
from autograd_cv.nn.module import Module
from autograd_cv.nn.parameter import Parameter
from autograd_cv.tensor import Tensor


def empty_parameter(*shape: int) -> Parameter:
    """An uninitialised float32 parameter (filled by an init function right after)."""
    return Parameter(np.empty(shape, dtype=np.float32))


def reset_weight_and_bias(weight: Parameter, bias: Parameter | None) -> None:
    """torch's Linear/Conv default: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = count(in_features, "Linear", "in_features")
        self.out_features = count(out_features, "Linear", "out_features")
        self.weight = empty_parameter(self.out_features, self.in_features)
        self.register_parameter("bias", empty_parameter(self.out_features) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with torch's default initialisation."""
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Flatten(Module):
    """Flatten axes start_dim..end_dim into one (default: everything but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        shape = input.shape
        start = self.start_dim % len(shape)
        end = self.end_dim % len(shape)
        new_shape = shape[:start] + (int(np.prod(shape[start : end + 1])),) + shape[end + 1 :]
        if new_shape == shape:
            return input
        return input.reshape(new_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        shape = input.shape
        dim = self.dim % len(shape)
        return input.reshape(shape[:dim] + self.unflattened_size + shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
