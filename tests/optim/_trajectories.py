"""PyTorch's stored optimizer trajectories, and our optimizers run the same way against them.

Each fixture (made by the scripts in tests/fixtures) holds, per case, PyTorch's parameters
after every step of minimising sum(a * (p - c)**2) + 0.05 * sum(p**4) from fixed starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import nn, optim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Trajectories:
    """One fixture file's cases, with the tolerances its comparisons use."""

    def __init__(self, fixture: str, float64: dict, float32: dict) -> None:
        self.data = np.load(FIXTURES / fixture)
        self.config = json.loads(str(self.data["config"]))
        self.steps = self.data[f"{next(iter(self.config))}/param0"].shape[0]
        self.tolerances = {np.float64: float64, np.float32: float32}

    def objective(self, params, dtype):
        """sum(a * (p - c)**2) + 0.05 * sum(p**4): the objective the fixture scripts used."""
        total = None
        for i, p in enumerate(params):
            scale = ag.tensor(self.data[f"scale{i}"].astype(dtype))
            centre = ag.tensor(self.data[f"centre{i}"].astype(dtype))
            term = (scale * (p - centre) ** 2).sum() + 0.05 * (p**4).sum()
            total = term if total is None else total + term
        return total

    def build(self, name: str):
        """Fresh parameters and an optimizer configured as the case `name` (groups too)."""
        case = self.config[name]
        dtype = np.float64 if name.endswith("float64") else np.float32
        params = [nn.Parameter(self.data[f"initial{i}"].astype(dtype)) for i in range(2)]

        def settings(given: dict) -> dict:
            return {k: tuple(v) if k == "betas" else v for k, v in given.items()}

        if case.get("groups") is None:
            spec = params
        else:
            spec = [settings(dict(group, params=[p])) for group, p in zip(case["groups"], params)]
        return params, getattr(optim, case["kind"])(spec, **settings(case["settings"])), dtype

    def run(self, params, optimizer, dtype, steps: int) -> list:
        """The parameters' values after each of `steps` optimizer steps."""
        values = []
        for _ in range(steps):
            optimizer.zero_grad()
            self.objective(params, dtype).backward()
            optimizer.step()
            values.append([p.data.copy() for p in params])
        return values

    def assert_follows(self, name: str, values: list, first_step: int = 0) -> None:
        """`values` (steps from `first_step` on) match PyTorch's, in the case's dtype."""
        dtype = np.float64 if name.endswith("float64") else np.float32
        for step, row in enumerate(values, start=first_step):
            for i, p in enumerate(row):
                assert p.dtype == dtype
                np.testing.assert_allclose(
                    p, self.data[f"{name}/param{i}"][step], **self.tolerances[dtype],
                    err_msg=f"{name}: param {i} after step {step + 1}",
                )  # fmt: skip

    def check_trajectory(self, name: str) -> None:
        """The whole run matches PyTorch's, step for step."""
        params, optimizer, dtype = self.build(name)
        self.assert_follows(name, self.run(params, optimizer, dtype, self.steps))

    def check_resume(self, name: str, folder: Path, first: int) -> None:
        """Saving after `first` steps and resuming in fresh objects continues the same run."""
        params, optimizer, dtype = self.build(name)
        self.run(params, optimizer, dtype, first)
        path = folder / "checkpoint.npz"
        ag.save({"params": [p.data for p in params], "optimizer": optimizer.state_dict()}, path)
        saved = ag.load(path)
        fresh, fresh_optimizer, _ = self.build(name)
        for p, value in zip(fresh, saved["params"]):
            p.data[...] = value
        fresh_optimizer.load_state_dict(saved["optimizer"])
        rest = self.run(fresh, fresh_optimizer, dtype, self.steps - first)
        self.assert_follows(name, rest, first_step=first)
