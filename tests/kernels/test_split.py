"""The kernels' thread policy (_split.py): GEMMs on one BLAS thread, mid-sized on BLAS's."""

from __future__ import annotations

import threading

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


def test_a_matmul_blas_runs_serially_anyway_leaves_the_thread_count_alone(blas):
    # Below BLAS_SERIAL_WORK OpenBLAS uses one thread whatever its count: nothing to pin.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((128, 256)), rng.standard_normal((10, 256)).T
    assert a.shape[0] * a.shape[1] * b.shape[1] < _split.BLAS_SERIAL_WORK
    np.testing.assert_array_equal(_split.matmul(a, b), np.matmul(a, b))
    assert blas.calls == [] and blas.num_threads == 2


def test_mid_sized_matmul_keeps_blas_threads(blas, monkeypatch):
    monkeypatch.setattr(_split, "THREADED_GEMM_MIN_WORK", 10)
    monkeypatch.setattr(_split, "BLAS_SERIAL_WORK", 0)
    a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    np.testing.assert_array_equal(_split.matmul(a, b), np.full((4, 5), 3, np.float32))
    assert blas.calls == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape_a, shape_b, transpose",
    [
        ((37, 19), (19, 11), None),  # bands of rows
        ((5, 19), (19, 41), None),  # bands of columns
        ((23, 30), (17, 30), "b"),  # x @ W.T, linear's forward
        ((30, 23), (30, 17), "a"),  # grad.T @ x, linear's weight gradient
    ],
)
def test_big_matmul_is_split_over_the_pool_with_one_blas_thread_each(
    blas, monkeypatch, dtype, shape_a, shape_b, transpose
):
    # Each band is its own GEMM on a thread of the pool, BLAS pinned to one thread meanwhile
    # (so its own threads are never woken); the product equals NumPy's.
    monkeypatch.setattr(_split, "THREADED_GEMM_MIN_WORK", 10)
    monkeypatch.setattr(_split, "BLAS_SERIAL_WORK", 0)
    monkeypatch.setattr(_split, "POOL_GEMM_MIN_WORK", 100)
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 100)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a).astype(dtype), rng.standard_normal(shape_b).astype(dtype)
    a = a.T if transpose == "a" else a
    b = b.T if transpose == "b" else b
    threads, seen = set(), []
    product = np.matmul

    def recording(x, y, out=None):
        threads.add(threading.get_ident())
        seen.append(blas.num_threads)
        return product(x, y, out=out)

    monkeypatch.setattr(_split.np, "matmul", recording)
    got = _split.matmul(a, b)
    monkeypatch.setattr(_split.np, "matmul", product)
    # Bands may sum in another order than one GEMM (BLAS kernels differ by CPU): relative
    # to the terms' size, so an entry that cancels to near zero is not held to rtol alone.
    scale = np.abs(a) @ np.abs(b)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_less(np.abs(got - a @ b), tolerance * scale + 1e-30)
    assert got.dtype == dtype and got.flags.c_contiguous
    assert len(seen) == 2 and len(threads) == 2 and seen == [1, 1]
    assert blas.num_threads == 2


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


def test_a_small_one_pass_kernel_runs_at_once_without_asking_blas(monkeypatch):
    asked = []
    monkeypatch.setattr(_split, "blas_pools", lambda: asked.append(1) or [])
    caller = threading.get_ident()
    parts = _split.over_pass(lambda lo, hi: (lo, hi, threading.get_ident()), 8, 100)
    assert parts == [(0, 8, caller)] and asked == []
    _split.over_pass(lambda lo, hi: None, 8, _split.SPLIT_MIN_PASS)  # big enough to ask
    assert asked == [1]


def test_big_work_splits_into_one_part_per_blas_thread(blas, monkeypatch):
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    parts = _split.over_batch(lambda lo, hi: (lo, hi, blas.num_threads), 7, 10)
    assert parts == [(0, 3, 1), (3, 7, 1)] and blas.num_threads == 2


def test_a_batch_of_one_keeps_blas_threads(blas, monkeypatch):
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    assert _split.over_batch(lambda lo, hi: blas.num_threads, 1, 10**9) == [2]
    assert blas.calls == []


def test_split_one_pass_kernels_match_their_serial_references(blas, monkeypatch):
    # relu, relu_backward, batch norm and the unrolled pools cut their range across threads
    # from _split.SPLIT_MIN_PASS; at 0 every call splits.
    from autograd_cv.kernels import activation, batch_norm, pool

    monkeypatch.setattr(_split, "SPLIT_MIN_PASS", 0)
    calls = []
    split = _split.over_batch

    def recorded(samples, batch, work, min_work=None, pin_blas=True):
        results = split(samples, batch, work, min_work, pin_blas)
        calls.append((len(results), pin_blas))
        return results

    monkeypatch.setattr(_split, "over_batch", recorded)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 6, 7)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, 0.0, -0.0]
    grad = rng.standard_normal(x.shape).astype(np.float32)
    out = activation.relu(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert out.dtype == np.float32 and np.isnan(out[0, 0, 0, 0])
    np.testing.assert_array_equal(activation.relu(x[:, :, ::2]), np.maximum(x[:, :, ::2], 0))
    whole = activation.relu(np.array([[-3, 0, 5]] * 4, dtype=np.int64))
    assert whole.dtype == np.int64 and (whole == [0, 0, 5]).all()
    np.testing.assert_array_equal(activation.relu_backward(grad, out), np.where(out > 0, grad, 0))
    x = rng.standard_normal((5, 3, 6, 7)) * 3 + 100  # float64; far from zero
    y, normalised, mean, var, inv_std = batch_norm.batch_norm_forward(
        x, np.full(3, 2.0), np.full(3, 0.5), 1e-5
    )
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)), rtol=1e-14)
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)), rtol=1e-12)
    want = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(
        x.var(axis=(0, 2, 3), keepdims=True) + 1e-5
    )
    np.testing.assert_allclose(y, 2 * want + 0.5, rtol=1e-12, atol=1e-12)
    grad = rng.standard_normal(x.shape)
    sums = batch_norm.channel_sums(grad, normalised)
    np.testing.assert_allclose(sums[0], grad.sum(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(sums[1], (grad * want).sum(axis=(0, 2, 3)), rtol=1e-9)
    pooled, indices = pool.max_pool2d_forward(x, (3, 3), (2, 2))
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    np.testing.assert_array_equal(pooled, windows.max(axis=(-2, -1)))
    # 2x2: 45 output rows, so the second part starts inside a plane (row 22 = plane 7, row 1)
    pooled, indices = pool.max_pool2d_forward(x, (2, 2), (2, 2))
    windows = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(2, 3))[:, :, ::2, ::2]
    np.testing.assert_array_equal(pooled, windows.max(axis=(-2, -1)))
    flat = windows.reshape(*windows.shape[:4], 4).argmax(axis=-1)
    rows, cols = np.indices(pooled.shape[2:])
    want = (2 * rows + flat // 2) * x.shape[3] + 2 * cols + flat % 2
    np.testing.assert_array_equal(indices, want)
    # each kernel went through the split, in two parts, and left BLAS's thread count alone
    assert len(calls) >= 6 and set(calls) == {(2, False)} and blas.calls == []


@pytest.mark.parametrize("failing_part", [0, 1])
def test_an_error_in_any_part_is_raised_after_every_part_has_finished(
    blas, monkeypatch, failing_part
):
    import time

    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    finished = []

    def samples(low: int, high: int) -> int:
        if (low > 0) == bool(failing_part):
            raise KeyError(f"part {failing_part}")
        time.sleep(0.05)  # the other part is still running when the error happens
        finished.append((low, high))
        return high

    with pytest.raises(KeyError, match=f"part {failing_part}"):
        _split.over_batch(samples, 8, 10)
    assert len(finished) == 1 and blas.num_threads == 2
    assert _split.over_batch(lambda lo, hi: (lo, hi), 8, 10) == [(0, 4), (4, 8)]  # still works


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(25, 700, 6), (32, 50, 16), (31, 50, 16), (64, 30, 64)])
def test_product_matches_matmul_either_side_of_the_gil_threshold(dtype, shape):
    # Small results go through np.dot (which releases the GIL), larger through np.matmul;
    # both with transposed operands, as the conv kernels pass them.
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((k, m)).astype(dtype).T, rng.standard_normal((n, k)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    _split.product(a, b.T, out)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.T, rtol=tolerance, atol=tolerance * k)
    assert (m * n < _split.MATMUL_GIL_RESULTS) == (shape != (32, 50, 16) and shape != (64, 30, 64))


@pytest.mark.parametrize("polls", [0, 10, _split.SPIN_POLLS])
def test_a_part_slower_than_the_callers_polling_still_returns_every_result(
    blas, monkeypatch, polls
):
    # The caller polls the workers' flags for at most SPIN_POLLS reads, then sleeps on the
    # replies queue: a worker that takes far longer (or no polling at all) changes nothing.
    import time

    monkeypatch.setattr(_split, "SPIN_POLLS", polls)
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)

    def samples(low: int, high: int) -> tuple[int, int]:
        if low > 0:
            time.sleep(0.02)  # well past the polling
        return low, high

    for _ in range(3):
        assert _split.over_batch(samples, 9, 10) == [(0, 4), (4, 9)]


def test_the_polling_flags_are_read_afresh_and_acknowledged():
    # _await_parts sees a flag set after it was compiled and acknowledges it (2); it gives up
    # after its polls when a flag stays down. _report_part waits for that acknowledgement.
    done = np.zeros(3, np.int64)
    assert not _split._await_parts(done, 100)
    done[1:] = 1
    assert _split._await_parts(done, 100) and list(done) == [0, 2, 2]
    flags = np.zeros(2, np.int64)
    assert not _split._report_part(flags, 1, 100) and flags[1] == 1  # nobody acknowledged


def test_equal_blocks_are_the_fewest_that_fit_and_differ_by_at_most_one_sample():
    assert _split.equal_block(64, 21) == 16  # 16 x 4, not 21 + 21 + 21 + 1
    assert _split.equal_block(32, 18) == 16 and _split.equal_block(7, 100) == 7
    assert _split.equal_block(5, 0) == 1 and _split.equal_block(0, 8) == 1
    for count in range(1, 80):
        for most in range(1, 40):
            size = _split.equal_block(count, most)
            blocks = -(-count // size)
            assert size <= most and blocks == -(-count // min(most, count))
            assert size * blocks - count < blocks  # the last block is short by under one each
