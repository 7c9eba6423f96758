"""Pooling kernels against independent window-by-window references, adjoints and FD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cv.kernels import _split, pool

# The first example of each test pays Numba's compile (or cache load), so no deadline.
jit_settings = settings(deadline=None)


# ---------------------------------------------------------------------------------------------
# Independent references: one window at a time, on an explicitly padded copy.


def _windows(x, kernel, stride, padding, dilation, fill):
    """Yield (oh, ow, window (N, C, kh*kw), input rows (kh*kw,), input cols (kh*kw,))."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    height, width = x.shape[2:]
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    for oh in range(out_h):
        for ow in range(out_w):
            rows = oh * sh + dh * np.arange(kh)
            cols = ow * sw + dw * np.arange(kw)
            window = padded[:, :, rows[:, None], cols[None, :]].reshape(*x.shape[:2], -1)
            in_rows = np.repeat(rows - ph, kw)
            in_cols = np.tile(cols - pw, kh)
            yield oh, ow, window, in_rows, in_cols


def reference_max_pool(x, kernel, stride, padding, dilation):
    """Max and PyTorch-style flat argmax (first maximum in window order) per window."""
    out_h = (x.shape[2] + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (x.shape[3] + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    out = np.empty((*x.shape[:2], out_h, out_w))
    indices = np.empty((*x.shape[:2], out_h, out_w), dtype=np.int64)
    for oh, ow, window, in_rows, in_cols in _windows(x, kernel, stride, padding, dilation, -np.inf):
        best = np.argmax(window, axis=2)
        out[:, :, oh, ow] = np.max(window, axis=2)
        indices[:, :, oh, ow] = in_rows[best] * x.shape[3] + in_cols[best]
        inside = (in_rows >= 0) & (in_rows < x.shape[2]) & (in_cols >= 0) & (in_cols < x.shape[3])
        if not inside.any():
            indices[:, :, oh, ow] = -1  # no in-bounds tap: our documented marker
    return out, indices


def reference_max_pool_backward(grad_output, indices, input_shape):
    """Scatter-add with np.add.at, which accumulates repeated indices."""
    planes = input_shape[0] * input_shape[1]
    grad_input = np.zeros((planes, input_shape[2] * input_shape[3]))
    rows = np.repeat(np.arange(planes), grad_output[0, 0].size)
    inside = (indices >= 0) & (indices < grad_input.shape[1])  # as PyTorch, skip the rest
    np.add.at(grad_input, (rows[inside.reshape(-1)], indices[inside]), grad_output[inside])
    return grad_input.reshape(input_shape)


def reference_avg_pool(x, kernel, stride, padding, count_include_pad):
    """Window sums divided by kh*kw, or by the number of in-bounds taps."""
    ones = np.ones_like(x)
    no_dilation = (1, 1)
    sums = {
        (oh, ow): window.sum(axis=2)
        for oh, ow, window, _, _ in _windows(x, kernel, stride, padding, no_dilation, 0.0)
    }
    counts = {
        (oh, ow): window.sum(axis=2)
        for oh, ow, window, _, _ in _windows(ones, kernel, stride, padding, no_dilation, 0.0)
    }
    out_h = max(oh for oh, _ in sums) + 1
    out_w = max(ow for _, ow in sums) + 1
    out = np.empty((*x.shape[:2], out_h, out_w))
    for (oh, ow), total in sums.items():
        divisor = kernel[0] * kernel[1] if count_include_pad else counts[oh, ow]
        out[:, :, oh, ow] = total / divisor
    return out


@st.composite
def pool_cases(draw, dilated=True):
    """A valid pooling geometry (padding at most half the kernel) and distinct float64 data."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    spatial = []
    for a in (0, 1):
        smallest = max(1, dilation[a] * (kernel[a] - 1) + 1 - 2 * padding[a])
        spatial.append(draw(st.integers(smallest, smallest + 5)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *spatial)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Distinct values 0.1 apart: no ties, and finite differences never move an argmax.
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1
    return x, dict(kernel_size=kernel, stride=stride, padding=padding), dilation


# ---------------------------------------------------------------------------------------------
# Max pooling


@jit_settings
@given(pool_cases())
def test_max_pool_matches_reference(case):
    x, geometry, dilation = case
    out, indices = pool.max_pool2d_forward(x, **geometry, dilation=dilation)
    want_out, want_indices = reference_max_pool(x, *geometry.values(), dilation)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(indices, want_indices)
    assert indices.dtype == np.int64


@jit_settings
@given(pool_cases())
def test_max_pool_backward_matches_scatter_add(case):
    x, geometry, dilation = case
    out, indices = pool.max_pool2d_forward(x, **geometry, dilation=dilation)
    grad_output = np.random.default_rng(1).standard_normal(out.shape)
    got = pool.max_pool2d_backward(grad_output, indices, x.shape)
    want = reference_max_pool_backward(grad_output, indices, x.shape)
    np.testing.assert_allclose(got, want, atol=1e-12)


@jit_settings
@given(pool_cases())
def test_max_pool_backward_matches_central_differences(case):
    x, geometry, dilation = case
    out, indices = pool.max_pool2d_forward(x, **geometry, dilation=dilation)
    grad_output = np.random.default_rng(1).standard_normal(out.shape)
    direction = np.random.default_rng(2).standard_normal(x.shape)
    eps = 1e-4

    finite = np.isfinite(out)  # windows wholly in the padding are a constant -inf

    def loss(x_):
        out_ = pool.max_pool2d_forward(x_, **geometry, dilation=dilation)[0]
        return np.vdot(out_[finite], grad_output[finite])

    numeric = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    grad_input = pool.max_pool2d_backward(grad_output, indices, x.shape)
    np.testing.assert_allclose(np.vdot(direction, grad_input), numeric, rtol=1e-7, atol=1e-9)


@jit_settings
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(3, 11),
    st.integers(3, 11),
    st.integers(0, 2**32 - 1),
    st.sampled_from([2, 3]),
    st.booleans(),
    st.sampled_from([2, 6, pool.PAIR_CHUNK_VALUES]),
)
def test_unrolled_max_pools_match_reference_with_ties_and_nan(
    batch, channels, h, w, seed, kernel, split, chunk_values
):
    # Kernels 2 and 3 at stride 2 without padding take their own unrolled kernels (LeNet's
    # and AlexNet's pools; 2x2 over even sizes in two passes, a chunk of rows at a time); odd
    # sizes drop the last row/column, small integers make ties, and some taps are NaN. `split`
    # cuts the rows across threads at any size; small chunks cut them into many chunks.
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(batch, channels, h, w)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_split, "SPLIT_MIN_PASS", 0 if split else _split.SPLIT_MIN_PASS)
        patch.setattr(pool, "PAIR_CHUNK_VALUES", chunk_values)
        out, indices = pool.max_pool2d_forward(x, (kernel, kernel), (2, 2))
    want_out, want_indices = reference_max_pool(x, (kernel, kernel), (2, 2), (0, 0), (1, 1))
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(indices, want_indices)


def test_max_pool_ties_and_nan_follow_pytorch():
    # Ties: the first maximum in window order wins. NaN beats any number.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 2, 2] = np.nan
    out, indices = pool.max_pool2d_forward(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(indices[0, 0], [[0, 1], [3, 8]])
    assert np.isnan(out[0, 0, 1, 1]) and not np.isnan(out[0, 0, 0, 0])


def test_max_pool_overlapping_windows_accumulate():
    x = np.array([[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]])
    out, indices = pool.max_pool2d_forward(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(indices[0, 0], [[1, 1]])
    grad_input = pool.max_pool2d_backward(np.array([[[[2.0, 3.0]]]]), indices, x.shape)
    np.testing.assert_array_equal(grad_input[0, 0], [[0, 5, 0], [0, 0, 0]])


def test_max_pool_window_wholly_in_padding_gives_minus_inf_index_minus_one_and_no_gradient():
    # Dilated column taps -1 and 1 of a 1-column input miss it. PyTorch returns index 1 here,
    # i.e. pixel (1, 0) of another window, and sends it a gradient; we return -1 and send none.
    x = np.array([[[[0.0], [0.1]]]])
    out, indices = pool.max_pool2d_forward(x, (1, 2), (1, 1), (0, 1), dilation=(1, 2))
    assert np.all(out == -np.inf) and np.all(indices == -1)
    np.testing.assert_array_equal(pool.max_pool2d_backward(np.ones_like(out), indices, x.shape), 0)


# ---------------------------------------------------------------------------------------------
# Average pooling


@jit_settings
@given(pool_cases(dilated=False), st.booleans())
def test_avg_pool_matches_reference(case, count_include_pad):
    x, geometry, _ = case
    got = pool.avg_pool2d_forward(x, **geometry, count_include_pad=count_include_pad)
    want = reference_avg_pool(x, *geometry.values(), count_include_pad)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@jit_settings
@given(pool_cases(dilated=False), st.booleans())
def test_avg_pool_backward_is_adjoint_and_matches_differences(case, count_include_pad):
    x, geometry, _ = case
    out = pool.avg_pool2d_forward(x, **geometry, count_include_pad=count_include_pad)
    grad_output = np.random.default_rng(1).standard_normal(out.shape)
    grad_input = pool.avg_pool2d_backward(
        grad_output, x.shape, **geometry, count_include_pad=count_include_pad
    )
    np.testing.assert_allclose(np.vdot(out, grad_output), np.vdot(x, grad_input), rtol=1e-10)

    direction = np.random.default_rng(2).standard_normal(x.shape)
    eps = 1e-6

    def loss(x_):
        out_ = pool.avg_pool2d_forward(x_, **geometry, count_include_pad=count_include_pad)
        return np.vdot(out_, grad_output)

    numeric = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(np.vdot(direction, grad_input), numeric, rtol=1e-6, atol=1e-8)


def test_parallel_and_serial_drivers_agree(monkeypatch):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    geometry = ((3, 2), (2, 1), (1, 1))
    results = []
    for threshold in (1 << 62, 0):  # all serial, then all parallel
        monkeypatch.setattr(pool, "PARALLEL_MIN_WORK", threshold)
        out, indices = pool.max_pool2d_forward(x, *geometry)
        avg = pool.avg_pool2d_forward(x, *geometry, count_include_pad=False)
        results.append(
            (
                out,
                indices,
                pool.max_pool2d_backward(out, indices, x.shape),
                avg,
                pool.avg_pool2d_backward(avg, x.shape, *geometry, count_include_pad=False),
            )
        )
    for serial, parallel in zip(*results, strict=True):
        np.testing.assert_array_equal(serial, parallel)


# ---------------------------------------------------------------------------------------------
# dtypes and errors


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    out, indices = pool.max_pool2d_forward(x, (3, 2), (2, 1), (1, 1))
    assert out.dtype == np.float32
    assert pool.max_pool2d_backward(out, indices, x.shape).dtype == np.float32
    avg = pool.avg_pool2d_forward(x, (3, 2), (2, 1), (1, 1))
    assert avg.dtype == np.float32
    assert pool.avg_pool2d_backward(avg, x.shape, (3, 2), (2, 1), (1, 1)).dtype == np.float32
    want = reference_avg_pool(x.astype(np.float64), (3, 2), (2, 1), (1, 1), True)
    np.testing.assert_allclose(avg, want, rtol=1e-6, atol=1e-6)


def _x(*shape):
    return np.zeros(shape)


@pytest.mark.parametrize(
    "call",
    [
        lambda: pool.max_pool2d_forward(_x(1, 1, 3, 3), (2, 2), (1, 1), (2, 1)),
        lambda: pool.max_pool2d_forward(_x(1, 1, 3, 3), (5, 5), (1, 1)),
        lambda: pool.max_pool2d_forward(_x(1, 1, 3, 3), (2, 2), (1, 0)),
        lambda: pool.max_pool2d_forward(_x(3, 3), (2, 2), (1, 1)),
        lambda: pool.max_pool2d_backward(_x(1, 1, 2, 2), np.zeros((1, 1, 2), int), (1, 1, 3, 3)),
        lambda: pool.avg_pool2d_forward(_x(1, 1, 5, 5), (3, 3), (1, 1), (2, 2)),
        lambda: pool.avg_pool2d_backward(_x(1, 1, 2, 2), (1, 1, 6, 6), (2, 2), (2, 2)),
        lambda: pool.avg_pool2d_forward(_x(1, 1, 5, 5).astype(int), (3, 3), (1, 1)),
    ],
)
def test_kernels_assert_their_preconditions(call):
    # The op layer checks arguments and explains them (tests/ops); the kernels only assert.
    with pytest.raises(AssertionError):
        call()


_THREADS_SCRIPT = """
import threading
import numba
import numpy as np
from autograd_cv.kernels import pool

x = np.random.default_rng(0).random((64, 64, 32, 32), dtype=np.float32)
errors = []


def work():
    try:
        for _ in range(10):
            out, indices = pool.max_pool2d_forward(x, (3, 3), (1, 1))
            pool.max_pool2d_backward(out, indices, x.shape)
            pool.avg_pool2d_forward(x, (3, 3), (1, 1))
    except Exception as error:
        errors.append(error)


threads = [threading.Thread(target=work) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("layer", numba.threading_layer(), "errors", errors)
"""


def test_parallel_pool_kernels_from_threads_under_the_workqueue_layer() -> None:
    """Numba's workqueue layer aborts on concurrent parallel launches; ours are serialised."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    done = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "layer workqueue errors []" in done.stdout
