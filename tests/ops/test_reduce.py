"""Reductions: zero-size inputs and 0-d tensors, as PyTorch 2.13 treats them (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F


@pytest.mark.parametrize(
    "reduce",
    [
        lambda x: x.max(axis=1),
        lambda x: x.min(axis=1),
        lambda x: x.max(1).values,  # torch's max(dim): (values, indices)
        lambda x: F.logsumexp(x, 1),
        lambda x: x.sum(1),
    ],
)
def test_reducing_a_non_empty_axis_of_an_empty_array_gives_an_empty_result(reduce) -> None:
    x = ag.tensor(np.zeros((0, 3)), requires_grad=True)
    out = reduce(x)
    assert out.shape == (0,)
    out.sum().backward()
    assert x.grad.shape == (0, 3)


def test_max_over_an_empty_axis_is_still_an_error() -> None:
    with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis.*\(0, 3\)"):
        ag.tensor(np.zeros((0, 3))).max(axis=0)
    with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis.*\(0, 3\)"):
        ag.tensor(np.zeros((0, 3))).max(0)  # torch's form
    with pytest.raises(ValueError, match="logsumexp"):
        F.logsumexp(ag.tensor(np.zeros((0, 3))), axis=0)


@pytest.mark.parametrize("axis", [0, -1])
def test_axis_0_and_minus_1_of_a_scalar_is_the_scalar(axis) -> None:
    reductions = {
        "sum": (lambda s: s.sum(axis), 2.0, 1.0),
        "mean": (lambda s: s.mean(axis), 2.0, 1.0),
        "max": (lambda s: s.max(axis=axis), 2.0, 1.0),
        "min": (lambda s: s.min(axis=axis), 2.0, 1.0),
        "max(dim)": (lambda s: s.max(axis).values, 2.0, 1.0),
        "logsumexp": (lambda s: F.logsumexp(s, axis), 2.0, 1.0),
        "var": (lambda s: s.var(axis), 0.0, 0.0),
        "softmax": (lambda s: F.softmax(s, axis), 1.0, 0.0),
        "log_softmax": (lambda s: F.log_softmax(s, axis), 0.0, 0.0),
    }
    for name, (fn, value, slope) in reductions.items():
        s = ag.tensor(2.0, requires_grad=True)
        out = fn(s)
        assert out.shape == (), name
        assert out.item() == pytest.approx(value), name
        out.backward()
        assert s.grad.item() == pytest.approx(slope), name


def test_other_axes_of_a_scalar_are_refused() -> None:
    with pytest.raises(ValueError, match="sum: axis 1 is out of range for an array of 0"):
        ag.tensor(2.0).sum(1)
