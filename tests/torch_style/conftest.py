"""The real datasets for the PyTorch-style programs, and a private dataset cache."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    """../shared/data (skip without it), with the decoded-dataset cache in a temp folder."""
    if not (SHARED / "mnist").is_dir() or not (SHARED / "cifar-10").is_dir():
        pytest.skip(f"real data not found in {SHARED}")
    cache = tmp_path_factory.mktemp("torch_style_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield SHARED
