"""The ops and arguments of issue 14 against PyTorch 2.13's values and input gradients,
stored by fixtures/make_torch_reference_ops.py (the suite never imports torch)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from tests.ops._fixtures import torch_ops_case

_TARGET = np.array([[0, 2, 1], [4, -1, 3]])
_WEIGHT = np.array([1.0, 2.0, 0.5, 1.5, 0.8])

CASES = {
    "max_pool2d_ceil": lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool2d_ceil": lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool2d_ceil_exclude_pad": lambda x: F.avg_pool2d(
        x, (2, 3), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False
    ),
    "avg_pool2d_divisor": lambda x: F.avg_pool2d(x, 2, 1, 1, divisor_override=3),
    **{
        f"cross_entropy_smoothing_{r}": (
            lambda x, r=r: F.cross_entropy(
                x, _TARGET, weight=_WEIGHT, ignore_index=-1, reduction=r, label_smoothing=0.2
            )
        )
        for r in ("mean", "sum", "none")
    },
    "bce_logits_pos_weight": lambda x, t: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=np.array([0.5, 2.0, 3.0])
    ),
    "pad_reflect": lambda x: F.pad(x, (2, 1, 1, 3), mode="reflect"),
    "pad_replicate": lambda x: F.pad(x, (3, 0, -1, 2), mode="replicate"),
    "pad_circular": lambda x: F.pad(x, (1, -2, 2, 2), mode="circular"),
    "pad_constant_negative": lambda x: F.pad(x, (-1, 2, 1, -2), value=0.5),
    "conv2d_same": lambda x, w: F.conv2d(x, w, padding="same", dilation=(1, 2)),
    "conv2d_unbatched": lambda x, w: F.conv2d(x, w, stride=2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name: str) -> None:
    case = torch_ops_case(name)
    names = [k for k in case if f"grad_{k}" in case]
    inputs = {k: ag.tensor(case[k], requires_grad=True) for k in names}
    out = CASES[name](**inputs)
    np.testing.assert_allclose(out.numpy(), case["out"], rtol=1e-10, atol=1e-12)
    (out * case["cot"]).sum().backward()
    for k in names:
        np.testing.assert_allclose(
            inputs[k].grad.numpy(), case[f"grad_{k}"], rtol=1e-9, atol=1e-12, err_msg=k
        )
