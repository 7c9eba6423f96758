"""Fixtures for the data tests: the shared real datasets and a private cache per test."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

SHARED_ENV = "AUTOGRAD_CV_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """`$AUTOGRAD_CV_SHARED_DATA`, else the `shared/data` folder beside the repository."""
    env = os.environ.get(SHARED_ENV)
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return folder.resolve() if folder.is_dir() else None


def _require(subfolder: str) -> Path:
    base = shared_data_dir()
    if base is None or not (base / subfolder).is_dir():
        pytest.skip(
            f"real data not found: need {subfolder}/ in shared/data beside the repository "
            f"or in ${SHARED_ENV}"
        )
    return base


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """Point the user cache at a fresh folder and clear the data variables for each test."""
    cache = tmp_path_factory.mktemp("xdg_cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for name in list(os.environ):
        if name == "AUTOGRAD_CV_DATA" or name.startswith("AUTOGRAD_CV_MIRRORS_"):
            monkeypatch.delenv(name)
    return cache / "autograd_cv"


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    return _require("mnist")


@pytest.fixture(scope="session")
def fashion_root() -> Path:
    return _require("fashion-mnist")


@pytest.fixture(scope="session")
def cifar_root() -> Path:
    return _require("cifar-10")


@pytest.fixture(scope="session")
def cifar_full(cifar_root, tmp_path_factory):
    """CIFAR-10 train and test decoded once per session from the real zip (into a temp cache).

    Returns (train, test, cache folder, seconds taken by the first train load).
    """
    from autograd_cv.data import CIFAR10

    cache = tmp_path_factory.mktemp("cifar_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        start = time.perf_counter()
        train = CIFAR10(cifar_root, train=True)
        first_seconds = time.perf_counter() - start
        test = CIFAR10(cifar_root, train=False)
    return train, test, cache, first_seconds
