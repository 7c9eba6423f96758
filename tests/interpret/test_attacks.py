"""FGSM and PGD on a trained tiny CNN: predictions flip, the eps-ball and pixel range hold."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.interpret import fgsm, pgd, project
from autograd_cv.interpret._common import scores
from autograd_cv.tensor import Tensor


def _within(adv: np.ndarray, x: np.ndarray, eps: float, clip: tuple[float, float]) -> None:
    # Checked exactly, in float64, on the returned float32 values.
    delta = np.abs(adv.astype(np.float64) - x.astype(np.float64))
    assert delta.max() <= eps
    assert adv.min() >= clip[0] and adv.max() <= clip[1]


def test_fgsm_flips_most_predictions_within_eps(trained):
    model, x, y = trained
    x, y = x[:60], y[:60]
    clean = scores(model, x).argmax(axis=1)
    right = clean == y
    adv = fgsm(model, x, y, eps=0.2)
    assert isinstance(adv, Tensor) and adv.dtype == x.dtype and adv.shape == x.shape
    _within(adv.data, x, 0.2, (0.0, 1.0))
    attacked = scores(model, adv.data).argmax(axis=1)
    assert (attacked[right] != y[right]).mean() > 0.6


def test_pgd_beats_fgsm_and_stays_in_ball(trained):
    model, x, y = trained
    x, y = x[:60], y[:60]
    eps = 0.15
    flips = {}
    for name, adv in (
        ("fgsm", fgsm(model, x, y, eps)),
        ("pgd", pgd(model, x, y, eps, alpha=0.03, steps=10, seed=1)),
    ):
        _within(adv.data, x, eps, (0.0, 1.0))
        flips[name] = (scores(model, adv.data).argmax(axis=1) != y).mean()
    assert flips["pgd"] > 0.75
    assert flips["pgd"] >= flips["fgsm"]


def test_targeted_pgd_reaches_target(trained):
    model, x, y = trained
    x, y = x[:50], y[:50]
    target = (y + 1) % 10
    adv = pgd(model, x, y, eps=0.25, alpha=0.05, steps=15, target=target)
    _within(adv.data, x, 0.25, (0.0, 1.0))
    assert (scores(model, adv.data).argmax(axis=1) == target).mean() > 0.7


def test_attacks_respect_a_normalised_range(trained):
    # Normalised inputs (x - mean) / std: the caller passes the normalised pixel range.
    model, x, y = trained
    mean, std = 0.1307, 0.3081
    clip = ((0 - mean) / std, (1 - mean) / std)
    xn = ((x[:20] - mean) / std).astype(np.float32)
    for adv in (
        fgsm(model, xn, y[:20], 0.3, clip=clip),
        pgd(model, xn, y[:20], 0.3, 0.1, 3, clip=clip),
    ):
        _within(adv.data, xn, 0.3, clip)


def test_project_is_exact_at_float32_edges():
    rng = np.random.default_rng(0)
    x = rng.random((1000,)).astype(np.float32)
    eps = 0.1  # not representable in float32: x + eps often rounds past the bound
    far = x.astype(np.float64) + rng.choice([-1.0, 1.0], x.shape)
    result = project(far, x, eps, (0.0, 1.0))
    assert result.dtype == np.float32
    delta = np.abs(result.astype(np.float64) - x)
    assert delta.max() <= eps and result.min() >= 0 and result.max() <= 1
    # Still (within an ulp) at the bound: the projection does not shrink the ball.
    inside = (x > 0.1) & (x < 0.9)
    assert np.all(delta[inside] > eps - 1e-7)


def test_bad_arguments_raise(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="eps"):
        fgsm(model, x[:2], y[:2], -0.1)
    with pytest.raises(ValueError, match="clip"):
        pgd(model, x[:2], y[:2], 0.1, 0.01, 1, clip=(1.0, 0.0))
    with pytest.raises(ValueError, match="y must"):
        fgsm(model, x[:2], y[:3], 0.1)


def test_attacks_and_saliency_take_any_batch_not_only_images() -> None:
    """An MLP's flat input, a regression net's or one siamese branch's is as valid."""
    from autograd_cv import nn
    from autograd_cv.interpret import fgsm, pgd, saliency

    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    x = np.random.default_rng(0).random((4, 20)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    adversarial = fgsm(model, x, y, eps=0.1).numpy()
    assert adversarial.shape == (4, 20)
    assert np.abs(adversarial - x).max() <= 0.1 + 1e-6 and np.abs(adversarial - x).max() > 0
    assert pgd(model, x, y, eps=0.1, alpha=0.02, steps=3).shape == (4, 20)
    # The loss goes up under the attack.
    before = F.cross_entropy(model(ag.tensor(x)), y).item()
    assert F.cross_entropy(model(ag.tensor(adversarial)), y).item() > before
    maps = saliency(model, x, target=y)
    assert maps.shape == (4, 20) and (maps >= 0).all() and maps.max() > 0
    assert saliency(model, x, smoothgrad=2).shape == (4, 20)
    with pytest.raises(ValueError, match=r"fgsm: expected a batch \(N, \.\.\.\) of inputs"):
        fgsm(model, np.float32(1.0), 0, eps=0.1)
