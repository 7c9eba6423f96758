"""The kernels' thread policy: GEMMs run with BLAS on one thread unless big (kernels/_split.py)."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv.kernels import _split


class _FakeBlas:
    """Stands in for threadpoolctl's BLAS controller: 2 threads, records what is set."""

    def __init__(self) -> None:
        self.num_threads, self.calls = 2, []

    def set_num_threads(self, count: int) -> None:
        self.calls.append(count)
        self.num_threads = count


@pytest.fixture
def blas(monkeypatch):
    fake = _FakeBlas()
    monkeypatch.setattr(_split, "blas_pools", lambda: [fake])
    return fake


def test_small_matmul_runs_on_one_blas_thread_and_restores_the_count(blas):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 400)), rng.standard_normal((120, 400)).T
    np.testing.assert_array_equal(_split.matmul(a, b), np.matmul(a, b))
    assert blas.calls == [1, 2] and blas.num_threads == 2


def test_big_matmul_keeps_blas_threads(blas, monkeypatch):
    monkeypatch.setattr(_split, "THREADED_GEMM_MIN_WORK", 10)
    a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    np.testing.assert_array_equal(_split.matmul(a, b), np.full((4, 5), 3, np.float32))
    assert blas.calls == []


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones((2, 3, 4)), np.ones((4, 5))),  # batched
        (np.ones(3), np.ones((3, 2))),  # a vector
        (np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),  # not float
        (np.ones((2, 3), np.float32), np.ones((3, 2))),  # mixed dtypes
    ],
)
def test_other_products_are_numpys_untouched(blas, a, b):
    got = _split.matmul(a, b)
    want = np.matmul(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert blas.calls == []


def test_mismatched_inner_sizes_raise_numpys_error(blas):
    with pytest.raises(ValueError):
        _split.matmul(np.ones((2, 3)), np.ones((4, 2)))
    assert blas.num_threads == 2


def test_small_work_runs_serially_on_one_blas_thread(blas):
    seen = []
    parts = _split.over_batch(lambda lo, hi: seen.append((lo, hi, blas.num_threads)) or hi, 8, 10)
    assert parts == [8] and seen == [(0, 8, 1)] and blas.num_threads == 2


def test_big_work_splits_into_one_part_per_blas_thread(blas, monkeypatch):
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    parts = _split.over_batch(lambda lo, hi: (lo, hi, blas.num_threads), 7, 10)
    assert parts == [(0, 3, 1), (3, 7, 1)] and blas.num_threads == 2


def test_a_batch_of_one_keeps_blas_threads(blas, monkeypatch):
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    assert _split.over_batch(lambda lo, hi: blas.num_threads, 1, 10**9) == [2]
    assert blas.calls == []
