"""No silent wrong gradient: in-place changes after forward, and NaN/Inf under detect_anomaly."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag


def test_inplace_change_of_a_saved_input_is_refused() -> None:
    w = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = ag.tensor(np.array([3.0, 4.0]))
    loss = (w * x).sum()
    x.add_(1.0)  # the mul saved x's values; its gradient for w would now be wrong
    with pytest.raises(RuntimeError, match=r"mul: its input 1 \(shape \(2,\)\) was modified"):
        loss.backward()


def test_inplace_change_of_a_saved_output_is_refused() -> None:
    x = ag.tensor(np.array([0.5]), requires_grad=True)
    y = x.exp()
    loss = (y + 0.0).sum()  # add never reads y; exp's vjp reads its output y
    with ag.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="exp: its output"):
        loss.backward()


def test_inplace_change_an_op_does_not_read_is_allowed() -> None:
    b = ag.tensor(np.array([1.0]), requires_grad=True)
    x = ag.tensor(np.array([2.0]), requires_grad=True)
    loss = (x * x + b).sum()  # add never reads b's values
    with ag.no_grad():
        b.sub_(0.5)  # e.g. an optimizer step on a bias between forward and backward
    loss.backward()
    assert b.grad.item() == 1.0 and x.grad.item() == 4.0


def test_changes_before_the_forward_are_fine() -> None:
    x = ag.tensor(np.array([2.0]))
    x.add_(1.0)
    w = ag.tensor(np.array([1.0]), requires_grad=True)
    (w * x).sum().backward()
    assert w.grad.item() == 3.0


def test_detect_anomaly_names_the_forward_op_and_line() -> None:
    x = ag.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with np.errstate(all="ignore"), ag.detect_anomaly(), pytest.raises(ag.AnomalyError) as info:
        ag.log(x - 1.0)  # the culprit line
    assert "log produced NaN or Inf in its forward" in str(info.value)
    assert "test_safety.py" in str(info.value) and "the culprit line" in str(info.value)


def test_detect_anomaly_names_the_backward_op() -> None:
    x = ag.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with np.errstate(all="ignore"), ag.detect_anomaly():
        y = ag.sqrt(x)  # finite forward, infinite gradient at 0
        with pytest.raises(ag.AnomalyError, match=r"sqrt produced NaN or Inf in the gradient"):
            y.sum().backward()


def test_without_anomaly_mode_nan_passes_silently_as_in_numpy() -> None:
    x = ag.tensor(np.array([0.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        y = ag.log(x)
    assert np.isneginf(y.item())
