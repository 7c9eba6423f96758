"""Shared test set-up: hypothesis profiles (quick by default, thorough in CI) and data paths."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile(
    "quick",
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_default = "thorough" if os.environ.get("CI") else "quick"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))

#: ../shared/data beside the repository (or AUTOGRAD_CV_SHARED_DATA); tests needing it skip
SHARED_DATA = Path(
    os.environ.get(
        "AUTOGRAD_CV_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
