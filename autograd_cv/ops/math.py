"""More elementwise math: sin, cos, log2, sign, erf (each forward beside its vjp).

Each vjp is written with Nodes and operators, so second derivatives are recorded like any
other op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import kernels_for
from autograd_cv.ops.arguments import apply
from autograd_cv.ops.elementwise import Exp
from autograd_cv.tensor import Tensor


class Sin(Node):
    name = "sin"

    def forward(self, x):
        return np.sin(x)

    def vjp(self, grad, out, x):
        return (grad * Cos()(x),)


class Cos(Node):
    name = "cos"

    def forward(self, x):
        return np.cos(x)

    def vjp(self, grad, out, x):
        return (-grad * Sin()(x),)


class Log2(Node):
    name = "log2"

    def forward(self, x):
        return np.log2(x)

    def vjp(self, grad, out, x):
        return (grad / (x * math.log(2.0)),)


class Sign(Node):
    """-1, 0 or 1; its gradient is 0 everywhere (PyTorch's convention at 0 too)."""

    name = "sign"
    saves_inputs = False

    def forward(self, x):
        return np.sign(x)

    def vjp(self, grad, out, x):
        return (grad * 0,)


class Erf(Node):
    name = "erf"

    def forward(self, x):
        return kernels_for(x).erf(x)

    def vjp(self, grad, out, x):
        return (grad * Exp()(-(x * x)) * (2.0 / math.sqrt(math.pi)),)


# ----- public functions -----------------------------------------------------------------
def sin(x: Any) -> Tensor:
    """Elementwise sine."""
    return apply(Sin(), x)


def cos(x: Any) -> Tensor:
    """Elementwise cosine."""
    return apply(Cos(), x)


def log2(x: Any) -> Tensor:
    """Elementwise base-2 logarithm."""
    return apply(Log2(), x)


def sign(x: Any) -> Tensor:
    """Elementwise sign (-1, 0, 1); the gradient is zero."""
    return apply(Sign(), x)


def erf(x: Any) -> Tensor:
    """The error function, elementwise."""
    return apply(Erf(), x)
