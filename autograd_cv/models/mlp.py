"""A multi-layer perceptron: Linear layers with an activation between them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from autograd_cv.nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from autograd_cv.nn.dropout import Dropout
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential

ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
}


class MLP(Sequential):
    """MLP([784, 256, 256, 10]): flatten, then fc1, act1, fc2, act2, fc3 (no activation last).

    Images are flattened first, so (N, 1, 28, 28) input works as well as (N, 784).
    Parameters are named `fc1.weight`, `fc1.bias`, ...
    """

    def __init__(
        self, sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least input and output sizes, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        layers: OrderedDict[str, Module] = OrderedDict(flatten=Flatten())
        last = len(sizes) - 2
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers[f"fc{i + 1}"] = Linear(fan_in, fan_out)
            if i < last:
                layers[f"act{i + 1}"] = ACTIVATIONS[activation]()
                if dropout > 0:
                    layers[f"drop{i + 1}"] = Dropout(dropout)
        super().__init__(layers)
        self.sizes = list(sizes)
