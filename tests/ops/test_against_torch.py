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
_INDEX = np.array([[0, 2, 2], [1, 0, 1]])

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
    # activations and math
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    "elu": lambda x: F.elu(x, 0.5),
    "softplus": lambda x: F.softplus(x, beta=2, threshold=3),
    "logsigmoid": lambda x: F.logsigmoid(x),
    "hardtanh": lambda x: F.hardtanh(x, -0.5, 0.5),
    "relu6": lambda x: F.relu6(x * 4),
    "erf": lambda x: ag.erf(x),
    "sin": lambda x: ag.sin(x),
    "cos": lambda x: ag.cos(x),
    "log2": lambda x: ag.log2(x.abs() + 0.1),
    # normalisation and distances
    "layer_norm": lambda x, w, b: F.layer_norm(x, (5, 6), w, b),
    "group_norm": lambda x, w, b: F.group_norm(x, 2, w, b),
    "instance_norm": lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
    "normalize": lambda x: F.normalize(x, dim=1),
    "normalize_p3": lambda x: F.normalize(x, p=3, dim=0),
    "cosine_similarity": lambda a, b: F.cosine_similarity(a, b),
    "pairwise_distance": lambda a, b: F.pairwise_distance(a, b),
    # conv1d, 1-d pools, unpooling, pixel shuffle
    "conv1d": lambda x, w: F.conv1d(x, w, stride=2, padding=1, groups=2),
    "conv1d_same": lambda x, w: F.conv1d(x, w, padding="same", dilation=2),
    "max_pool1d": lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool1d": lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
    "pixel_shuffle": lambda x: F.pixel_shuffle(x, 2),
    "max_unpool2d": lambda x: F.max_unpool2d(
        *F.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 6)
    ),
    # indexing, sorting, running products
    "gather": lambda x: ag.gather(x, 1, _INDEX),
    "scatter_add": lambda x, s: ag.scatter_add(x, 1, _INDEX, s),
    "index_add": lambda x, s: ag.index_add(x, 0, np.array([2, 0, 2]), s, alpha=2.0),
    "topk": lambda x: ag.topk(x, 2, axis=0)[0],
    "sort_descending": lambda x: ag.sort(x, axis=1, descending=True),
    "cumprod_zeros": lambda x: ag.cumprod(x, 1),
    "prod_zeros": lambda x: ag.prod(x, 1),
    "embedding_padding": lambda w: F.embedding(np.array([[0, 2], [2, 1]]), w, padding_idx=2),
    "einsum": lambda a, b: ag.einsum("bij,bjk->bik", a, b),
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
