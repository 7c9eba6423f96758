"""SGD, Adam and AdamW against trajectories recorded once with torch.optim (no torch here)."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv import nn, optim
from tests.optim._trajectories import Trajectories

TRAJECTORIES = Trajectories(
    "optim_trajectories.npz",
    float64={"rtol": 1e-10, "atol": 1e-12},
    float32={"rtol": 2e-5, "atol": 2e-6},
)
CONFIG, STEPS = TRAJECTORIES.config, TRAJECTORIES.steps
build, run = TRAJECTORIES.build, TRAJECTORIES.run


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_trajectory_matches_torch(name):
    TRAJECTORIES.check_trajectory(name)


@pytest.mark.parametrize(
    "name", ["sgd_momentum_float64", "adam_amsgrad_float64", "adamw_float64", "sgd_groups_float64"]
)
def test_resume_from_saved_state_continues_the_same_trajectory(name, tmp_path):
    TRAJECTORIES.check_resume(name, tmp_path, first=STEPS // 2)


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
