"""ThreadBudget: the BLAS pool follows the cores other processes leave free."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from autograd_cv import threads


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_other_runnable_threads_counts_a_non_negative_number() -> None:
    count = threads.other_runnable_threads()
    assert isinstance(count, int) and count >= 0


@pytest.mark.skipif(max(blas_threads(), default=1) < 2, reason="needs a BLAS with 2+ threads")
def test_budget_drops_to_the_free_cores_under_load_and_comes_back(monkeypatch) -> None:
    load = {"others": 0}
    monkeypatch.setattr(threads, "other_runnable_threads", lambda: load["others"])
    budget = threads.ThreadBudget(cores=2, interval=0)
    try:
        assert budget.update() == 2
        load["others"] = 3  # three busy threads elsewhere: one core is all we may take
        for _ in range(10):
            budget.update()
        assert budget.threads == 1 and blas_threads() == {1}
        np.testing.assert_allclose(np.ones((64, 64)) @ np.ones((64, 64)), 64.0)  # still works
        load["others"] = 0
        for _ in range(10):
            budget.update()
        assert budget.threads == 2 and blas_threads() == {2}
        load["others"] = 1  # a single blip is smoothed away
        assert budget.update() == 2
    finally:
        budget.restore()
    assert blas_threads() == {2}


def test_budget_samples_at_most_every_interval_and_checks_arguments(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(threads, "other_runnable_threads", lambda: calls.append(1) or 5)
    budget = threads.ThreadBudget(cores=2, interval=3600)
    budget.update()
    budget.update()
    assert len(calls) == 1
    budget.restore()
    with pytest.raises(ValueError, match="ThreadBudget: cores must be >= 1"):
        threads.ThreadBudget(cores=0)
