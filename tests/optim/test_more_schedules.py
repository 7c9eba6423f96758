"""LambdaLR, ExponentialLR, LinearLR, OneCycleLR, ReduceLROnPlateau and SequentialLR against
learning rates (and momenta) recorded once with torch (make_torchapi_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn, optim
from autograd_cv.optim import lr_scheduler as lr

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = np.load(FIXTURES / "lr_schedules_more.npz")
CONFIG = json.loads(str(DATA["config"]))
METRICS = DATA["metrics"].tolist()
LAMBDAS = {"poly": lambda epoch: (1 - epoch / 30) ** 0.9}


def build(name):
    kind, settings, optimizer_kind = CONFIG[name]
    groups = [
        {"params": [nn.Parameter(np.zeros(2, np.float32))], "lr": 0.1},
        {"params": [nn.Parameter(np.zeros(2, np.float32))], "lr": 0.02},
    ]
    optimizer = optim.SGD(groups, momentum=0.9) if optimizer_kind == "SGD" else optim.Adam(groups)
    if kind == "LambdaLR":
        return optimizer, lr.LambdaLR(optimizer, LAMBDAS[settings["lr_lambda"]])
    if name == "sequential_linear_exponential":
        inner = [lr.LinearLR(optimizer, 0.2, 1.0, 4), lr.ExponentialLR(optimizer, 0.7)]
        return optimizer, lr.SequentialLR(optimizer, inner, **settings)
    if name == "sequential_three":
        inner = [
            lr.ExponentialLR(optimizer, 0.9),
            lr.StepLR(optimizer, 2, 0.5),
            lr.LinearLR(optimizer, 1.0, 0.2, 5),
        ]
        return optimizer, lr.SequentialLR(optimizer, inner, **settings)
    return optimizer, getattr(lr, kind)(optimizer, **settings)


def record(optimizer):
    row = []
    for group in optimizer.param_groups:
        row += [group["lr"], group["betas"][0] if "betas" in group else group["momentum"]]
    return row


def run(name, optimizer, scheduler, epochs, start=0):
    rows = []
    for epoch in range(start, start + epochs):
        optimizer.step()
        if CONFIG[name][0] == "ReduceLROnPlateau":
            scheduler.step(METRICS[epoch])
        else:
            scheduler.step()
        rows.append(record(optimizer))
    return rows


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_schedule_matches_torch(name):
    optimizer, scheduler = build(name)
    expected = DATA[name]
    rows = [record(optimizer), *run(name, optimizer, scheduler, len(expected) - 1)]
    np.testing.assert_allclose(np.array(rows), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scheduler.get_last_lr(), expected[-1, ::2], rtol=1e-12)


@pytest.mark.parametrize(
    "name", ["exponential", "linear", "onecycle_cos", "plateau_min", "sequential_three"]
)
def test_schedule_resumes_from_a_saved_state(name, tmp_path):
    optimizer, scheduler = build(name)
    run(name, optimizer, scheduler, 7)
    ag.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "s.npz")  # fmt: skip
    saved = ag.load(tmp_path / "s.npz")
    fresh_optimizer, fresh_scheduler = build(name)
    fresh_optimizer.load_state_dict(saved["optimizer"])
    fresh_scheduler.load_state_dict(saved["scheduler"])
    rows = run(name, fresh_optimizer, fresh_scheduler, 10, start=7)
    np.testing.assert_allclose(np.array(rows), DATA[name][8:18], rtol=1e-12, atol=1e-15)


def test_onecycle_refuses_to_step_past_its_total():
    optimizer, scheduler = build("onecycle_cos")
    for _ in range(20):
        scheduler.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 21 times"):
        scheduler.step()


def test_schedule_argument_errors_are_named():
    optimizer, _ = build("exponential")
    with pytest.raises(ValueError, match="SequentialLR: expected len\\(milestones\\)"):
        lr.SequentialLR(optimizer, [lr.ExponentialLR(optimizer, 0.5)], milestones=[3])
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        lr.OneCycleLR(optimizer, max_lr=0.1)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1"):
        lr.ReduceLROnPlateau(optimizer, factor=1.5)
