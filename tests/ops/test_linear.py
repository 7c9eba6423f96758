"""linear: (out, in) weights, any leading batch axes, dtype kept, clear shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.testing import gradcheck


def test_linear_with_leading_batch_axes_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    y = F.linear(x, w, b).numpy()
    assert y.shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(y[i, j], w @ x[i, j] + b)
    inputs = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(F.linear, inputs)


def test_linear_keeps_float32_with_an_ndarray_bias() -> None:
    x = ag.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    w = ag.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    y = F.linear(x, w, np.zeros(4))  # a float64 constant bias must not upcast
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_linear_shape_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) does not match weight"):
        F.linear(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\), got \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3))
