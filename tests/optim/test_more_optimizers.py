"""RMSprop, Adagrad, Adadelta, NAdam and RAdam against trajectories recorded once with
torch.optim (tests/fixtures/make_torchapi_fixtures.py; no torch here)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn, optim
from tests.optim._trajectories import Trajectories

TRAJECTORIES = Trajectories(
    "optim_more.npz", float64={"rtol": 1e-9, "atol": 1e-12}, float32={"rtol": 3e-5, "atol": 3e-6}
)
CONFIG, STEPS = TRAJECTORIES.config, TRAJECTORIES.steps
build, run, objective = TRAJECTORIES.build, TRAJECTORIES.run, TRAJECTORIES.objective
DATA = TRAJECTORIES.data


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_trajectory_matches_torch(name):
    TRAJECTORIES.check_trajectory(name)


@pytest.mark.parametrize(
    "name", ["rmsprop_momentum_centered_float64", "adagrad_decay_float64", "nadam_float64",
             "radam_float64", "adadelta_options_float64"],
)  # fmt: skip
def test_resume_from_saved_state_continues_the_same_trajectory(name, tmp_path):
    TRAJECTORIES.check_resume(name, tmp_path, first=5)


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
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "Adam: invalid betas"),
        (lambda p: optim.AdamW(p, lr=-1e-3), "AdamW: invalid lr -0.001"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: invalid momentum -0.5"),
    ],
)
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.zeros(2))])
