"""clip_grad_norm_ against torch.nn.utils.clip_grad_norm_ (values recorded once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = np.load(FIXTURES / "clip_grad_norm.npz")
CASES = sorted({key.split("/")[0] for key in DATA.files if "/" in key})


def params_with_grads():
    params = []
    for i in range(3):
        grad = DATA[f"grad{i}"]
        p = nn.Parameter(np.zeros_like(grad))
        p.grad = ag.tensor(grad.copy())
        params.append(p)
    return params


@pytest.mark.parametrize("case", CASES)
def test_clip_grad_norm_matches_torch(case):
    max_norm, norm_type = DATA[f"{case}/settings"]
    params = params_with_grads()
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    assert total.dtype == np.float32 and total.shape == ()
    np.testing.assert_allclose(total.item(), DATA[f"{case}/total"], rtol=1e-6)
    for i, p in enumerate(params):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.data, DATA[f"{case}/clipped{i}"], rtol=1e-6, atol=1e-7)


def test_parameters_without_grad_are_ignored_and_nonfinite_can_raise():
    params = params_with_grads()
    params.append(nn.Parameter(np.zeros(3, np.float32)))
    nn.utils.clip_grad_norm_(params, 1.0)
    assert params[-1].grad is None
    params[0].grad.data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = params_with_grads()
    nn.utils.clip_grad_value_(params, 0.25)
    for i, p in enumerate(params):
        np.testing.assert_array_equal(p.grad.data, np.clip(DATA[f"grad{i}"], -0.25, 0.25))
