"""StepLR, MultiStepLR and CosineAnnealingLR against learning rates recorded with torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn, optim
from autograd_cv.optim import lr_scheduler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = np.load(FIXTURES / "lr_schedules.npz")
CONFIG = json.loads(str(DATA["config"]))


def build(name):
    kind, settings = CONFIG[name]
    groups = [
        {"params": [nn.Parameter(np.zeros(2, np.float32))], "lr": 0.1},
        {"params": [nn.Parameter(np.zeros(2, np.float32))], "lr": 0.02},
    ]
    optimizer = optim.SGD(groups)
    return optimizer, getattr(lr_scheduler, kind)(optimizer, **settings)


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_schedule_matches_torch(name):
    optimizer, scheduler = build(name)
    expected = DATA[name]
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(len(expected) - 1):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    np.testing.assert_allclose(np.array(lrs), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_schedule_resumes_from_a_saved_state(name, tmp_path):
    optimizer, scheduler = build(name)
    for _ in range(6):
        optimizer.step()
        scheduler.step()
    path = tmp_path / "sched.npz"
    ag.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, path)
    saved = ag.load(path)
    fresh_optimizer, fresh_scheduler = build(name)
    fresh_optimizer.load_state_dict(saved["optimizer"])
    fresh_scheduler.load_state_dict(saved["scheduler"])
    lrs = []
    for _ in range(10):
        fresh_optimizer.step()
        fresh_scheduler.step()
        lrs.append([g["lr"] for g in fresh_optimizer.param_groups])
    np.testing.assert_allclose(np.array(lrs), DATA[name][7:17], rtol=1e-12, atol=1e-15)


def test_resuming_with_last_epoch_needs_initial_lr():
    optimizer = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=4)
