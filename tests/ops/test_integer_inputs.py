"""Integer inputs of floating ops are promoted to float32, never computed (and wrapped) in uint8."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F

VALUES = np.array([[0, 10, 200], [255, 3, 1]], np.uint8)


def reference_log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("wrap", [ag.tensor, np.asarray])
def test_activations_of_integers_match_their_float_values(dtype, wrap) -> None:
    x = VALUES.astype(dtype) if dtype is not np.int8 else (VALUES // 2).astype(dtype)
    floats = x.astype(np.float64)
    expected = {
        "log_softmax": reference_log_softmax(floats),
        "softmax": np.exp(reference_log_softmax(floats)),
        "sigmoid": 1 / (1 + np.exp(-floats)),
        "tanh": np.tanh(floats),
    }
    for name, want in expected.items():
        got = getattr(F, name)(wrap(x))
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_issue_examples() -> None:
    x = ag.tensor(np.array([[0, 10, 200]], np.uint8))
    assert np.isfinite(F.log_softmax(x, -1).numpy()).all()
    np.testing.assert_allclose(F.sigmoid(x).numpy(), [[0.5, 1 / (1 + np.exp(-10)), 1.0]])
    ints = np.array([[1, 2], [3, 6]])
    out = F.batch_norm(ag.tensor(ints), None, None, training=True, eps=0.0).numpy()
    column = ints.astype(np.float64)
    want = (column - column.mean(0)) / column.std(0)
    np.testing.assert_allclose(out, want, rtol=1e-5)


def test_losses_of_integer_scores() -> None:
    scores = VALUES.astype(np.int64)
    labels = np.array([2, 0])
    expected = -reference_log_softmax(scores)[np.arange(2), labels].mean()
    np.testing.assert_allclose(F.cross_entropy(scores, labels).item(), expected, rtol=1e-5)
    np.testing.assert_allclose(F.mse_loss(scores, np.zeros((2, 3))).item(),
                               (scores.astype(np.float64) ** 2).mean(), rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_zero_classes_names_the_op_and_shape(name) -> None:
    with pytest.raises(ValueError, match=rf"{name}: axis 1 .*\(2, 0\).* no classes"):
        getattr(F, name)(np.zeros((2, 0), np.float32))
