"""RMSprop, Adagrad, Adadelta, NAdam and RAdam against trajectories recorded once with
torch.optim (tests/fixtures/make_torchapi_fixtures.py; no torch here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn, optim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = np.load(FIXTURES / "optim_more.npz")
CONFIG = json.loads(str(DATA["config"]))
STEPS = DATA[f"{next(iter(CONFIG))}/param0"].shape[0]


def objective(params, dtype):
    """sum(a * (p - c)**2) + 0.05 * sum(p**4): the objective the fixture script used."""
    total = None
    for i, p in enumerate(params):
        scale = ag.tensor(DATA[f"scale{i}"].astype(dtype))
        centre = ag.tensor(DATA[f"centre{i}"].astype(dtype))
        term = (scale * (p - centre) ** 2).sum() + 0.05 * (p**4).sum()
        total = term if total is None else total + term
    return total


def build(name):
    case = CONFIG[name]
    dtype = np.float64 if name.endswith("float64") else np.float32
    params = [nn.Parameter(DATA[f"initial{i}"].astype(dtype)) for i in range(2)]
    settings = {k: tuple(v) if k == "betas" else v for k, v in case["settings"].items()}
    return params, getattr(optim, case["kind"])(params, **settings), dtype


def run(params, optimizer, dtype, steps):
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(params, dtype).backward()
        optimizer.step()
        values.append([p.data.copy() for p in params])
    return values


def tolerance(dtype):
    return {"rtol": 1e-9, "atol": 1e-12} if dtype == np.float64 else {"rtol": 3e-5, "atol": 3e-6}


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_trajectory_matches_torch(name):
    params, optimizer, dtype = build(name)
    values = run(params, optimizer, dtype, STEPS)
    for step in range(STEPS):
        for i, p in enumerate(values[step]):
            assert p.dtype == dtype
            np.testing.assert_allclose(
                p, DATA[f"{name}/param{i}"][step], **tolerance(dtype),
                err_msg=f"{name}: param {i} after step {step + 1}",
            )  # fmt: skip


@pytest.mark.parametrize(
    "name", ["rmsprop_momentum_centered_float64", "adagrad_decay_float64", "nadam_float64",
             "radam_float64", "adadelta_options_float64"],
)  # fmt: skip
def test_resume_from_saved_state_continues_the_same_trajectory(name, tmp_path):
    params, optimizer, dtype = build(name)
    run(params, optimizer, dtype, 5)
    ag.save({"params": [p.data for p in params], "optimizer": optimizer.state_dict()},
            tmp_path / "ckpt.npz")  # fmt: skip
    saved = ag.load(tmp_path / "ckpt.npz")
    fresh, fresh_optimizer, _ = build(name)
    for p, value in zip(fresh, saved["params"]):
        p.data[...] = value
    fresh_optimizer.load_state_dict(saved["optimizer"])
    values = run(fresh, fresh_optimizer, dtype, STEPS - 5)
    for step, row in enumerate(values, start=5):
        for i, p in enumerate(row):
            np.testing.assert_allclose(p, DATA[f"{name}/param{i}"][step], **tolerance(dtype))


def test_closure_is_evaluated_and_its_loss_returned():
    params, optimizer, dtype = build("radam_float64")

    def closure():
        optimizer.zero_grad()
        loss = objective(params, dtype)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert isinstance(loss, ag.Tensor) and params[0].grad is not None
    np.testing.assert_allclose(params[0].data, DATA["radam_float64/param0"][0], rtol=1e-9)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.RMSprop(p, lr=-1), "RMSprop: invalid lr -1"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "Adagrad: invalid lr_decay"),
        (lambda p: optim.Adadelta(p, rho=1.5), "Adadelta: invalid rho"),
        (lambda p: optim.NAdam(p, betas=(1.0, 0.9)), "NAdam: invalid betas"),
        (lambda p: optim.RAdam(p, eps=-1e-8), "RAdam: invalid eps"),
    ],
)
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.zeros(2))])
