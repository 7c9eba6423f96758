"""SGD, Adam and AdamW against trajectories recorded once with torch.optim (no torch here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn, optim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = np.load(FIXTURES / "optim_trajectories.npz")
CONFIG = json.loads(str(DATA["config"]))
STEPS = DATA[f"{next(iter(CONFIG))}/param0"].shape[0]


def objective(params, dtype):
    """sum(a * (p - c)**2) + 0.05 * sum(p**4): the objective make_nn_fixtures.py used."""
    total = None
    for i, p in enumerate(params):
        scale = ag.tensor(DATA[f"scale{i}"].astype(dtype))
        centre = ag.tensor(DATA[f"centre{i}"].astype(dtype))
        term = (scale * (p - centre) ** 2).sum() + 0.05 * (p**4).sum()
        total = term if total is None else total + term
    return total


def build(name):
    """Fresh parameters and an optimizer configured as the fixture's case `name`."""
    case = CONFIG[name]
    dtype = np.float64 if name.endswith("float64") else np.float32
    params = [nn.Parameter(DATA[f"initial{i}"].astype(dtype)) for i in range(2)]
    settings = dict(case["settings"])
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    if case["groups"] is None:
        spec = params
    else:
        spec = [dict(group, params=[p]) for group, p in zip(case["groups"], params)]
        for group in spec:
            if "betas" in group:
                group["betas"] = tuple(group["betas"])
    optimizer = getattr(optim, case["kind"])(spec, **settings)
    return params, optimizer, dtype


def run(params, optimizer, dtype, steps):
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(params, dtype).backward()
        optimizer.step()
        values.append([p.data.copy() for p in params])
    return values


def tolerance(dtype):
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-6}


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_trajectory_matches_torch(name):
    params, optimizer, dtype = build(name)
    values = run(params, optimizer, dtype, STEPS)
    for step in range(STEPS):
        for i, p in enumerate(values[step]):
            assert p.dtype == dtype
            expected = DATA[f"{name}/param{i}"][step]
            np.testing.assert_allclose(
                p, expected, **tolerance(dtype), err_msg=f"{name}: param {i} after step {step + 1}"
            )


@pytest.mark.parametrize(
    "name", ["sgd_momentum_float64", "adam_amsgrad_float64", "adamw_float64", "sgd_groups_float64"]
)
def test_resume_from_saved_state_continues_the_same_trajectory(name, tmp_path):
    params, optimizer, dtype = build(name)
    half = STEPS // 2
    run(params, optimizer, dtype, half)
    path = tmp_path / "checkpoint.npz"
    ag.save({"params": [p.data for p in params], "optimizer": optimizer.state_dict()}, path)

    restored = ag.load(path)
    fresh_params, fresh_optimizer, _ = build(name)
    for p, saved in zip(fresh_params, restored["params"]):
        p.data[...] = saved
    fresh_optimizer.load_state_dict(restored["optimizer"])
    values = run(fresh_params, fresh_optimizer, dtype, STEPS - half)
    for step, step_values in enumerate(values, start=half):
        for i, p in enumerate(step_values):
            np.testing.assert_allclose(p, DATA[f"{name}/param{i}"][step], **tolerance(dtype))


def test_state_dict_refers_to_parameters_by_index_and_copies_state():
    params, optimizer, dtype = build("adam_groups_float64")
    run(params, optimizer, dtype, 2)
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][0]["lr"] == 0.01
    assert state["param_groups"][1]["betas"] == (0.5, 0.9)
    assert state["state"][0]["step"] == 2
    state["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(optimizer.state[params[0]]["exp_avg"] == 123.0)


def test_load_state_dict_rejects_a_different_layout():
    params, optimizer, dtype = build("sgd_momentum_float64")
    run(params, optimizer, dtype, 1)
    other = optim.SGD([nn.Parameter(np.zeros(3))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="has 1 parameters"):
        other.load_state_dict(optimizer.state_dict())


def test_step_skips_parameters_without_grad_and_bumps_version():
    used = nn.Parameter(np.ones(3, dtype=np.float32))
    frozen = nn.Parameter(np.ones(3, dtype=np.float32))
    optimizer = optim.SGD([used, frozen], lr=0.5, momentum=0.9)
    (used * 2.0).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(used.data, 0.0)
    np.testing.assert_array_equal(frozen.data, 1.0)
    assert used.version > 0 and frozen.version == 0
    assert frozen not in optimizer.state
    optimizer.zero_grad()
    assert used.grad is None


def test_invalid_settings_are_refused():
    p = [nn.Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="didn't specify a value of 'lr'"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p[0], lr=0.1)
