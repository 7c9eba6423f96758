"""Notebooks run as tests through nbmake; each whole notebook must finish in --nbmake-timeout.

nbmake's own timeout applies to each cell separately, so a notebook of many slow cells could
take far longer than any one of them. This hook also holds the whole notebook to that many
seconds: a notebook that passed but ran longer is reported as failed.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Turn a passing notebook that took longer than --nbmake-timeout seconds into a failure."""
    report = yield
    budget = item.config.getoption("nbmake_timeout", default=None)
    too_slow = budget is not None and call.duration > budget
    if getattr(item, "nbmake", False) and call.when == "call" and report.passed and too_slow:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.name} ran for {call.duration:.0f} s, more than the {budget} s a whole "
            "notebook may take (--nbmake-timeout)"
        )
    return report
