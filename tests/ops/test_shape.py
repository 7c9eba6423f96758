"""Shape ops and indexing: edge cases found against PyTorch 2.13 (issue 14)."""

from __future__ import annotations

import numpy as np

import autograd_cv as ag


def test_tuple_index_array_accumulates_repeated_indices() -> None:
    x = ag.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    x[(1, 1), 2].sum().backward()
    assert x.grad.numpy()[1, 2] == 2  # NumPy and PyTorch: both picks count
    assert x.grad.numpy().sum() == 2
    x.grad = None
    x[[1, 1], 2].sum().backward()  # a list gives the same
    assert x.grad.numpy()[1, 2] == 2


def test_empty_index_list_gives_an_empty_result_and_gradient() -> None:
    x = ag.tensor(np.ones((3, 4)), requires_grad=True)
    out = x[[]]
    assert out.shape == (0, 4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
