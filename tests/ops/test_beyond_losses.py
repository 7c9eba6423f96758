"""The losses and resizing of issue 19 against PyTorch's stored values (torch_beyond.npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F

_PATH = Path(__file__).with_name("fixtures") / "torch_beyond.npz"


def case(name: str) -> dict[str, np.ndarray]:
    with np.load(_PATH, allow_pickle=False) as data:
        prefix = name + "."
        return {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}


def leaf(array: np.ndarray) -> ag.Tensor:
    return ag.tensor(array, requires_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_nchw_ignore_index_matches_pytorch(reduction: str) -> None:
    c = case(f"ce_spatial_{reduction}")
    x = leaf(c["x"])
    loss = F.cross_entropy(x, c["target"], ignore_index=255, reduction=reduction)
    loss.backward(np.ones(loss.shape))
    np.testing.assert_allclose(loss.numpy(), c["loss"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), c["grad"], rtol=1e-12, atol=1e-12)


def test_cross_entropy_all_ignored_gives_nan_loss_and_zero_gradients() -> None:
    c = case("ce_all_ignored")
    x = leaf(c["x"])
    loss = F.cross_entropy(x, c["target"], ignore_index=255)
    loss.backward()
    assert np.isnan(loss.item()) and np.isnan(c["loss"])
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_array_equal(x.grad.numpy(), c["grad"])


def test_cross_entropy_all_ignored_second_order_is_finite() -> None:
    x = leaf(np.random.default_rng(0).standard_normal((1, 3, 2, 2)))
    loss = F.cross_entropy(x, np.full((1, 2, 2), -100))
    (g,) = ag.grad(loss, x, create_graph=True)
    (gg,) = ag.grad((g * g).sum(), x)
    assert np.isfinite(gg.numpy()).all()


@pytest.mark.parametrize(
    "name, fn",
    [
        ("smooth_l1_b05", lambda u, v: F.smooth_l1_loss(u, v, beta=0.5)),
        ("smooth_l1_b0", lambda u, v: F.smooth_l1_loss(u, v, beta=0.0, reduction="sum")),
        ("huber_d15", lambda u, v: F.huber_loss(u, v, delta=1.5)),
    ],
)
def test_smooth_l1_and_huber_match_pytorch(name, fn) -> None:
    c = case(name)
    a, b = leaf(c["a"]), leaf(c["b"])
    loss = fn(a, b)
    loss.backward()
    np.testing.assert_allclose(loss.numpy(), c["loss"], rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), c["grad_a"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), c["grad_b"], rtol=1e-12, atol=1e-15)


def test_margin_ranking_loss_matches_pytorch() -> None:
    c = case("margin_ranking")
    x1, x2 = leaf(c["x1"]), leaf(c["x2"])
    loss = F.margin_ranking_loss(x1, x2, c["y"], margin=0.3)
    loss.backward()
    np.testing.assert_allclose(loss.numpy(), c["loss"], rtol=1e-12)
    np.testing.assert_allclose(x1.grad.numpy(), c["grad1"], rtol=1e-12)
    np.testing.assert_allclose(x2.grad.numpy(), c["grad2"], rtol=1e-12)


def test_cosine_embedding_loss_matches_pytorch() -> None:
    c = case("cosine_embedding")
    x1, x2 = leaf(c["x1"]), leaf(c["x2"])
    loss = F.cosine_embedding_loss(x1, x2, c["y"], margin=0.1)
    loss.backward()
    np.testing.assert_allclose(loss.numpy(), c["loss"], rtol=1e-12)
    np.testing.assert_allclose(x1.grad.numpy(), c["grad1"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(x2.grad.numpy(), c["grad2"], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "name, kwargs", [("triplet", {}), ("triplet_swap_p1", {"swap": True, "p": 1, "margin": 2.0})]
)
def test_triplet_margin_loss_matches_pytorch(name, kwargs) -> None:
    c = case(name)
    tensors = [leaf(c[k]) for k in ("anchor", "positive", "negative")]
    loss = F.triplet_margin_loss(*tensors, **kwargs)
    loss.backward()
    np.testing.assert_allclose(loss.numpy(), c["loss"], rtol=1e-12)
    for tensor, key in zip(tensors, ("grad_a", "grad_p", "grad_n")):
        np.testing.assert_allclose(tensor.grad.numpy(), c[key], rtol=1e-10, atol=1e-14)


INTERPOLATE_CASES = {
    "nearest_size": dict(size=(8, 4), mode="nearest"),
    "nearest_scale": dict(scale_factor=2.5, mode="nearest"),
    "bilinear_size": dict(size=(9, 11), mode="bilinear", align_corners=False),
    "bilinear_corners": dict(size=(9, 11), mode="bilinear", align_corners=True),
    "bilinear_down": dict(size=(3, 4), mode="bilinear", align_corners=False),
    "bilinear_scale": dict(scale_factor=(1.5, 0.75), mode="bilinear", align_corners=False),
}


@pytest.mark.parametrize("name", sorted(INTERPOLATE_CASES))
def test_interpolate_matches_pytorch(name: str) -> None:
    c = case(f"interpolate_{name}")
    x = leaf(c["x"])
    out = F.interpolate(x, **INTERPOLATE_CASES[name])
    out.backward(c["cotangent"])
    np.testing.assert_allclose(out.numpy(), c["out"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), c["grad"], rtol=1e-12, atol=1e-12)


def test_upsample_module_and_float32() -> None:
    up = ag.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    out = up(ag.tensor(np.ones((1, 2, 3, 3), dtype=np.float32)))
    assert out.shape == (1, 2, 6, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: F.interpolate(x, size=4, scale_factor=2), "exactly one of size"),
        (lambda x: F.interpolate(x, size=4, mode="bicubic"), "mode must be one of"),
        (lambda x: F.interpolate(x[0], size=4), r"got shape \(2, 3, 3\)"),
        (lambda x: F.interpolate(x, size=4, align_corners=True), "align_corners only"),
        (lambda x: F.smooth_l1_loss(x, np.zeros((2, 2))), r"smooth_l1_loss: target of shape"),
        (lambda x: F.margin_ranking_loss(x, x, np.zeros(x.shape)), "must be 1 or -1"),
        (lambda x: F.triplet_margin_loss(x, x, x[0]), "triplet_margin_loss: anchor"),
    ],
)
def test_bad_arguments_name_the_function(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call(ag.tensor(np.zeros((1, 2, 3, 3))))
