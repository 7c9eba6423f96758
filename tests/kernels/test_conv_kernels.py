"""Conv kernels against an independent shift-and-add reference, adjoint identities and FD."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autograd_cv.kernels import _split, conv, conv_direct, conv_rows, winograd, winograd6

# The first example of each test pays Numba's compile (or cache load), so no deadline.
jit_settings = settings(deadline=None)


# ---------------------------------------------------------------------------------------------
# Independent reference: pad, then add one shifted, strided slice per kernel tap. It shares no
# code or layout with im2col.


def reference_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """Naive float64 conv2d as torch.nn.functional.conv2d computes it."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    batch, channels, height, width = x.shape
    out_channels, in_per_group, kh, kw = weight.shape
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((batch, out_channels, out_h, out_w))
    out_per_group = out_channels // groups
    for g in range(groups):
        inputs = padded[:, g * in_per_group : (g + 1) * in_per_group]
        outputs = slice(g * out_per_group, (g + 1) * out_per_group)
        for i in range(kh):
            for j in range(kw):
                patch = inputs[
                    :,
                    :,
                    i * dh : i * dh + sh * (out_h - 1) + 1 : sh,
                    j * dw : j * dw + sw * (out_w - 1) + 1 : sw,
                ]
                out[:, outputs] += np.einsum("nchw,oc->nohw", patch, weight[outputs, :, i, j])
    if bias is not None:
        out += bias[None, :, None, None]
    return out


@st.composite
def conv_cases(draw):
    """A valid conv geometry with float64 data: (x, weight, bias, geometry dict)."""
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    spatial = []
    for a in (0, 1):
        smallest = max(1, dilation[a] * (kernel[a] - 1) + 1 - 2 * padding[a])
        spatial.append(draw(st.integers(smallest, smallest + 6)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((batch, in_channels, *spatial))
    weight = rng.standard_normal((out_channels, in_channels // groups, *kernel))
    bias = rng.standard_normal(out_channels) if draw(st.booleans()) else None
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, weight, bias, geometry


def _grad_output(x, weight, bias, geometry, seed=1):
    shape = conv.conv2d_forward(x, weight, bias, **geometry).shape
    return np.random.default_rng(seed).standard_normal(shape).astype(x.dtype)


def _every_kernel(x, weight, bias, geometry):
    """A call of the forward, both gradients in one pass, and the weight gradient alone."""
    grad_output = _grad_output(x, weight, bias, geometry)

    def run():
        return (
            conv.conv2d_forward(x, weight, bias, **geometry),
            *conv.conv2d_backward(x, grad_output, weight, **geometry),
            conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry),
        )

    return run


# ---------------------------------------------------------------------------------------------
# Forward


@jit_settings
@given(conv_cases())
def test_forward_matches_reference(case):
    x, weight, bias, geometry = case
    got = conv.conv2d_forward(x, weight, bias, **geometry)
    np.testing.assert_allclose(got, reference_conv2d(x, weight, bias, **geometry), atol=1e-12)


@jit_settings
@given(conv_cases())
def test_forward_float32_stays_float32_and_agrees(case):
    x, weight, bias, geometry = case
    x32, weight32 = x.astype(np.float32), weight.astype(np.float32)
    bias32 = None if bias is None else bias.astype(np.float32)
    got = conv.conv2d_forward(x32, weight32, bias32, **geometry)
    assert got.dtype == np.float32
    want = reference_conv2d(x, weight, bias, **geometry)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    grad_output = _grad_output(x32, weight32, bias32, geometry)
    grad_input = conv.conv2d_backward_input(grad_output, weight32, x.shape, **geometry)
    grad_weight = conv.conv2d_backward_weight(x32, grad_output, weight.shape, **geometry)
    assert grad_input.dtype == np.float32 and grad_weight.dtype == np.float32


@jit_settings
@given(conv_cases(), st.booleans())
def test_one_call_parts_match_numpys_path(case, small_blocks):
    # Ungrouped im2col convs run each thread's part as one Numba call with BLAS's GEMM
    # (_blas); where that GEMM is not found, the same blocks go through np.matmul. Both
    # directions and the weight gradient alone agree, over one or many blocks a part.
    x, weight, bias, geometry = case
    run = _every_kernel(x, weight, bias, geometry)
    with pytest.MonkeyPatch.context() as patch:
        if small_blocks:
            patch.setattr(conv, "BLOCK_BYTES", 1)
            patch.setattr(conv, "MIN_BLOCK_COLUMNS", 1)
        one_call = run()
        patch.setattr(conv, "gemm_table", lambda: None)
        numpy_path = run()
    for got, want in zip(one_call, numpy_path):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one_call[0], reference_conv2d(x, weight, bias, **geometry),
                               atol=1e-12)  # fmt: skip


@jit_settings
@given(conv_cases(), st.integers(1, 4), st.booleans())
def test_bands_of_output_rows_match_whole_samples(case, band, split):
    # Samples whose col is several times L2 are lowered a band of output rows at a time (from
    # a slab of the input with the band's own top padding); forward and gradients agree with
    # whole samples and the reference, bands overlapping in the input or not.
    x, weight, bias, geometry = case
    assume(geometry["groups"] == 1 and conv.gemm_table() is not None)
    run = _every_kernel(x, weight, bias, geometry)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_rows, "eligible", lambda *args: False)  # im2col's path for all
        if split:
            patch.setattr(_split, "SPLIT_MIN_WORK", 0)
        whole = run()
        patch.setattr(conv, "row_band", lambda col_rows, out_h, *rest: min(band, out_h))
        banded = run()
    for got, want in zip(banded, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(banded[0], reference_conv2d(x, weight, bias, **geometry),
                               atol=1e-12)  # fmt: skip


def test_only_samples_much_bigger_than_l2_take_bands():
    # AlexNet's conv1 (3 x 11 x 11 taps, 55 x 55 outputs) does; the CIFAR conv does not.
    assert conv.row_band(363, 55, 55, 4) > 0
    assert conv.row_band(363, 55, 55, 4) * 363 * 55 * 4 <= max(conv.BAND_BYTES, 363 * 55 * 4)
    assert conv.row_band(27, 32, 32, 4) == 0


def test_forward_accepts_non_contiguous_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 3, 2)).transpose(3, 2, 1, 0)  # (2, 3, 4, 5), F-ordered
    weight = rng.standard_normal((2, 3, 2, 2))
    geometry = dict(stride=(1, 2), padding=(1, 0), dilation=(1, 1), groups=1)
    got = conv.conv2d_forward(x, weight, None, **geometry)
    np.testing.assert_allclose(got, reference_conv2d(x, weight, None, **geometry), atol=1e-12)


def test_batch_split_into_blocks_matches_reference(monkeypatch):
    # A tiny block budget forces one sample per block, exercising the block loop and the
    # accumulation of grad_weight across blocks.
    monkeypatch.setattr(conv, "BLOCK_BYTES", 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 6, 5))
    weight = rng.standard_normal((3, 2, 3, 2))
    geometry = dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=1)
    np.testing.assert_allclose(
        conv.conv2d_forward(x, weight, None, **geometry),
        reference_conv2d(x, weight, None, **geometry),
        atol=1e-12,
    )
    grad_output = _grad_output(x, weight, None, geometry)
    _assert_adjoint(x, weight, grad_output, geometry)


def _cache_dir(root, entries):
    for i, (level, kind, size) in enumerate(entries):
        index = root / f"index{i}"
        index.mkdir(parents=True)
        (index / "level").write_text(f"{level}\n")
        (index / "type").write_text(f"{kind}\n")
        (index / "size").write_text(f"{size}\n")
    return str(root)


@pytest.mark.parametrize(
    "entries, expected",
    [
        ([(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "2048K")], 2 * 2**20),
        ([(1, "Data", "32K"), (2, "Unified", "1M"), (3, "Unified", "32768K")], 2**20),
        ([(1, "Data", "48K"), (3, "Unified", "8M")], 2 * 2**20),  # no L2 reported
        ([(2, "Unified", "lots")], 2 * 2**20),  # unreadable
    ],
)
def test_l2_cache_size_read_from_sysfs(tmp_path, entries, expected):
    assert conv.l2_cache_bytes(_cache_dir(tmp_path / "cache", entries)) == expected


def test_l2_cache_size_without_sysfs(tmp_path):
    assert conv.l2_cache_bytes(str(tmp_path / "missing")) == 2 * 2**20
    # The block budget is 3/8 of this machine's L2 (col plus OpenBLAS's packed copy of it),
    # counted as 2 to 4 MB.
    assert conv.BLOCK_BYTES == min(max(conv.l2_cache_bytes(), 2 * 2**20), 4 * 2**20) * 3 // 8


@pytest.mark.parametrize("small_out_channels", [0, 1000])
def test_weight_gradient_both_orientations_match_reference(monkeypatch, small_out_channels):
    # Convs with few output channels accumulate the transposed weight gradient; force each
    # orientation, with groups and one sample per block, against the reference's adjoint.
    monkeypatch.setattr(conv, "SMALL_OUT_CHANNELS", small_out_channels)
    monkeypatch.setattr(conv, "BLOCK_BYTES", 1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 7, 6))
    weight = rng.standard_normal((6, 2, 3, 2))
    geometry = dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)
    grad_output = _grad_output(x, weight, None, geometry)
    _assert_adjoint(x, weight, grad_output, geometry)


def _reference_unpadded_w_gradients(x, weight, grad_output, pad_h, dilation):
    """Element-wise conv gradients for stride 1, width padding 0, one group, tap by tap."""
    (dh, dw), (_, _, kh, kw) = dilation, weight.shape
    out_h, out_w = grad_output.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (0, 0)))
    grad_padded = np.zeros_like(padded)
    grad_weight = np.zeros_like(weight)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i * dh, i * dh + out_h), slice(j * dw, j * dw + out_w)
            grad_weight[:, :, i, j] = np.einsum(
                "nohw,nchw->oc", grad_output, padded[:, :, rows, cols]
            )
            grad_padded[:, :, rows, cols] += np.einsum(
                "nohw,oc->nchw", grad_output, weight[:, :, i, j]
            )
    return grad_padded[:, :, pad_h : pad_h + x.shape[2]], grad_weight


@settings(deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(1, 2),
    st.integers(0, 2**32 - 1),
)
def test_unpadded_across_matches_elementwise_reference(batch, channels, out_channels, kh, kw,
                                                      pad_h, dw, seed):  # fmt: skip
    # Stride-1 convs unpadded across copy whole output rows (_im2col_whole_rows and its
    # adjoint); forward and both gradients, element by element, across several blocks.
    rng = np.random.default_rng(seed)
    width = dw * (kw - 1) + 1 + int(rng.integers(1, 6))  # out_w < width whenever kw > 1
    x = rng.standard_normal((batch, channels, int(rng.integers(kh, kh + 4)), width))
    weight = rng.standard_normal((out_channels, channels, kh, kw))
    bias = rng.standard_normal(out_channels)
    geometry = dict(stride=(1, 1), padding=(pad_h, 0), dilation=(1, dw), groups=1)
    out = conv.conv2d_forward(x, weight, bias, **geometry)
    np.testing.assert_allclose(out, reference_conv2d(x, weight, bias, **geometry), atol=1e-12)
    grad_output = rng.standard_normal(out.shape)
    want_input, want_weight = _reference_unpadded_w_gradients(
        x, weight, grad_output, pad_h, (1, dw)
    )
    got_input = conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)
    got_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry)
    np.testing.assert_allclose(got_input, want_input, atol=1e-12)
    np.testing.assert_allclose(got_weight, want_weight, atol=1e-12)


@pytest.mark.parametrize("batch", [2, 8])  # 8: conv2d_backward by row lowering
def test_non_finite_values_stay_where_they_belong(batch):
    # An inf that only the taps with j = 0 read must not turn the rest of the weight gradient
    # into NaN (the wide col layout of sessions 6-11 risked exactly that). LeNet-5's c3.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 6, 14, 14))
    weight = rng.standard_normal((16, 6, 5, 5))
    grad_output = rng.standard_normal((batch, 16, 10, 10))
    x[0, 0, 3, 0] = np.inf  # column 0: only the taps with j = 0 ever read it
    weight[0, 0, 0, 4] = np.inf
    want_input, want_weight = _reference_unpadded_w_gradients(x, weight, grad_output, 0, (1, 1))
    separate = (
        conv.conv2d_backward_input(grad_output, weight, x.shape),
        conv.conv2d_backward_weight(x, grad_output, weight.shape),
    )
    for got_input, got_weight in (separate, conv.conv2d_backward(x, grad_output, weight)):
        np.testing.assert_array_equal(np.isfinite(got_weight), np.isfinite(want_weight))
        assert np.isfinite(got_weight[:, :, :, 1:]).all()
        np.testing.assert_array_equal(np.isfinite(got_input), np.isfinite(want_input))
        finite = np.isfinite(want_input)
        np.testing.assert_allclose(got_input[finite], want_input[finite], atol=1e-12)


def _row_lowering_cases(channels):
    """(batch, channels, out_channels, kh, kw, pad_h, dtype, small_blocks, numpy_gemm)."""
    return (
        st.integers(conv_rows.MIN_BATCH, 9),
        channels,
        st.integers(1, 5),
        st.integers(2, 5),
        st.integers(1, 5),
        st.integers(0, 2),
        st.sampled_from([np.float64, np.float32]),
        st.booleans(),
        st.booleans(),
    )


@settings(deadline=None, max_examples=30)
@given(*_row_lowering_cases(st.integers(1, 4)), st.integers(0, 2**32 - 1))
def test_row_lowering_forward_matches_reference(batch, channels, out_channels, kh, kw, pad_h,
                                                dtype, small_blocks, numpy_gemm, seed):  # fmt: skip
    # conv_rows: narrow stride-1 forwards, unpadded across, over one or many blocks per
    # thread, against the shift-and-add reference; non-contiguous inputs too. Both paths:
    # a part in one Numba call with BLAS's GEMM, and NumPy's matmul (where that GEMM is not
    # found).
    rng = np.random.default_rng(seed)
    width = kw + int(rng.integers(0, conv_rows.MAX_OUT_W))
    x = rng.standard_normal((batch, channels, int(rng.integers(max(1, kh - 2 * pad_h), 9)), width))
    x = x.astype(dtype)[:, ::-1] if channels > 1 else x.astype(dtype)
    weight = rng.standard_normal((out_channels, channels, kh, kw)).astype(dtype)
    bias = rng.standard_normal(out_channels).astype(dtype)
    geometry = dict(stride=(1, 1), padding=(pad_h, 0), dilation=(1, 1), groups=1)
    assert conv_rows.eligible(x.shape, weight.shape, **geometry)
    with pytest.MonkeyPatch.context() as patch:
        if small_blocks:  # one sample a block
            patch.setattr(conv_rows, "BLOCK_BYTES", 1)
            patch.setattr(conv_rows, "MIN_COLUMNS", 1)
        if numpy_gemm:
            patch.setattr(conv_rows, "gemm_table", lambda: None)
        out = conv.conv2d_forward(x, weight, bias, **geometry)
    assert out.dtype == dtype
    want = reference_conv2d(x, weight, bias, **geometry)
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(out, want, rtol=tolerance, atol=tolerance * np.abs(want).max())


@settings(deadline=None, max_examples=30)
@given(
    *_row_lowering_cases(st.sampled_from([1, 2, 3, 5, conv_rows.MAX_BACKWARD_CHANNELS])),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_row_lowering_backward_matches_reference(batch, channels, out_channels, kh, kw, pad_h,
                                                 dtype, small_blocks, numpy_gemm, input_grad,
                                                 seed):  # fmt: skip
    # conv_rows' backward: both gradients (or the weight's alone) element by element against
    # the tap-by-tap reference, over one or many blocks per thread, with non-contiguous
    # operands; by BLAS's GEMM from Numba and by NumPy's matmul, as the forward.
    rng = np.random.default_rng(seed)
    width = kw + int(rng.integers(0, conv_rows.MAX_OUT_W))
    height = int(rng.integers(max(1, kh - 2 * pad_h), 9))
    x = rng.standard_normal((batch, channels, height, width)).astype(dtype)[:, ::-1]
    weight = rng.standard_normal((out_channels, channels, kh, kw)).astype(dtype)[:, ::-1]
    out_h, out_w = height + 2 * pad_h - kh + 1, width - kw + 1
    grad_output = rng.standard_normal((batch, 2 * out_channels, out_h, out_w)).astype(dtype)
    grad_output = grad_output[:, ::2]
    geometry = dict(stride=(1, 1), padding=(pad_h, 0), dilation=(1, 1), groups=1)
    assert conv_rows.backward_eligible(x.shape, weight.shape, **geometry)
    with pytest.MonkeyPatch.context() as patch:
        if small_blocks:  # one sample a block
            patch.setattr(conv_rows, "BACKWARD_BLOCK_BYTES", 1)
        if numpy_gemm:
            patch.setattr(conv_rows, "gemm_table", lambda: None)
        if input_grad:
            got_input, got_weight = conv.conv2d_backward(x, grad_output, weight, **geometry)
        else:  # the rows kernel's weight-only pass (conv2d_backward_weight keeps im2col)
            got_input, got_weight = conv_rows.conv2d_backward_rows(
                np.ascontiguousarray(x), np.ascontiguousarray(grad_output), weight.shape,
                (pad_h, 0),
            )  # fmt: skip
    assert got_weight.dtype == dtype and (got_input is None or got_input.dtype == dtype)
    want_input, want_weight = _reference_unpadded_w_gradients(
        x.astype(np.float64), weight.astype(np.float64), grad_output, pad_h, (1, 1)
    )
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    for got, want in ((got_input, want_input), (got_weight, want_weight)):
        if got is not None:
            scale = np.abs(want).max()
            np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * scale)


def test_row_lowering_backward_runs_where_eligible(monkeypatch):
    # conv2d_backward hands LeNet-5's c3 to conv_rows (not im2col), and only the eligible.
    calls = []
    real = conv_rows.conv2d_backward_rows
    monkeypatch.setattr(conv_rows, "conv2d_backward_rows", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((8, 6, 14, 14)), rng.standard_normal((16, 6, 5, 5))
    conv.conv2d_backward(x, rng.standard_normal((8, 16, 10, 10)), weight)
    assert calls == [1]
    conv.conv2d_backward(x[:2], rng.standard_normal((2, 16, 10, 10)), weight)  # batch of 2
    assert calls == [1]


def test_row_lowering_takes_only_what_it_measured_faster_on():
    # LeNet-5's c3 at training batches; not padded across, wide outputs, strides, one sample.
    c3 = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    assert conv_rows.eligible((64, 6, 14, 14), (16, 6, 5, 5), **c3)
    assert not conv_rows.eligible((64, 1, 28, 28), (6, 1, 5, 5), **{**c3, "padding": (2, 2)})
    assert not conv_rows.eligible((64, 6, 34, 34), (16, 6, 5, 5), **c3)  # 30 wide
    assert not conv_rows.eligible((64, 6, 14, 14), (16, 6, 5, 5), **{**c3, "stride": (2, 2)})
    assert not conv_rows.eligible((64, 6, 14, 14), (16, 6, 5, 5), **{**c3, "groups": 2})
    assert not conv_rows.eligible((1, 6, 14, 14), (16, 6, 5, 5), **c3)
    assert not conv_rows.eligible((64, 6, 14, 14), (16, 6, 1, 5), **c3)  # kh = 1: im2col's
    # The backward: few input channels only (32 -> 64 5x5 measured 1.12x im2col's time).
    assert conv_rows.backward_eligible((64, 6, 14, 14), (16, 6, 5, 5), **c3)
    assert conv_rows.backward_eligible((64, 16, 12, 12), (32, 16, 3, 3), **c3)
    assert not conv_rows.backward_eligible((64, 32, 16, 16), (64, 32, 5, 5), **c3)
    assert not conv_rows.backward_eligible((1, 6, 14, 14), (16, 6, 5, 5), **c3)


def test_row_lowering_propagates_non_finite_values():
    # A NaN or inf reaches exactly the outputs whose windows hold it, as a direct conv's.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6, 14, 14))
    weight = rng.standard_normal((16, 6, 5, 5))
    x[2, 1, 4, 7], x[5, 0, 0, 0] = np.nan, np.inf
    geometry = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    out = conv.conv2d_forward(x, weight, None, **geometry)
    want = reference_conv2d(x, weight, None, **geometry)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    np.testing.assert_array_equal(np.isfinite(out), np.isfinite(want))
    assert not np.isfinite(out[2, :, 0:5, 3:8]).any() and np.isfinite(out[3]).all()


def _reference_weight_gradient(x, grad_output, kernel, padding):
    """sum over samples and output pixels of grad_output times the shifted padded input."""
    (kh, kw), (ph, pw) = kernel, padding
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_h, out_w = grad_output.shape[2:]
    want = np.zeros((grad_output.shape[1], x.shape[1], kh, kw))
    for i in range(kh):
        for j in range(kw):
            window = padded[:, :, i : i + out_h, j : j + out_w]
            want[:, :, i, j] = np.einsum("nohw,nchw->oc", grad_output, window)
    return want


@settings(deadline=None, max_examples=40)
@given(
    st.integers(2, 6),
    st.integers(1, conv_direct.MAX_OUT_CHANNELS),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from([np.float64, np.float32]),
    st.integers(0, 2**32 - 1),
)
def test_direct_weight_gradient_matches_reference(batch, out_channels, kh, kw, ph, pw, dtype,
                                                   seed):  # fmt: skip
    # conv_direct: one input channel, any padding, several samples per thread's part.
    rng = np.random.default_rng(seed)
    height = max(1, kh - 2 * ph) + int(rng.integers(0, 8))
    width = max(1, kw - 2 * pw) + int(rng.integers(0, 8))
    x = rng.standard_normal((batch, 1, height, width)).astype(dtype)
    out_h, out_w = height + 2 * ph - kh + 1, width + 2 * pw - kw + 1
    grad_output = rng.standard_normal((batch, out_channels, out_h, out_w)).astype(dtype)
    geometry = dict(stride=(1, 1), padding=(ph, pw), dilation=(1, 1), groups=1)
    assert conv_direct.eligible(x.shape, (out_channels, 1, kh, kw), (1, 1), (1, 1), 1)
    got = conv.conv2d_backward_weight(x, grad_output, (out_channels, 1, kh, kw), **geometry)
    assert got.dtype == dtype and got.shape == (out_channels, 1, kh, kw)
    want = _reference_weight_gradient(x, grad_output.astype(np.float64), (kh, kw), (ph, pw))
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * np.abs(want).max())


def test_direct_weight_gradient_takes_one_input_channel_only():
    assert conv_direct.eligible((64, 1, 28, 28), (6, 1, 5, 5), (1, 1), (1, 1), 1)
    assert not conv_direct.eligible((64, 3, 32, 32), (32, 3, 3, 3), (1, 1), (1, 1), 1)
    assert not conv_direct.eligible((64, 1, 28, 28), (32, 1, 5, 5), (1, 1), (1, 1), 1)
    assert not conv_direct.eligible((64, 1, 28, 28), (6, 1, 5, 5), (2, 2), (1, 1), 1)
    assert not conv_direct.eligible((64, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2), 1)
    assert not conv_direct.eligible((1, 1, 28, 28), (6, 1, 5, 5), (1, 1), (1, 1), 1)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_direct_weight_gradient_leaves_non_finite_inputs_to_im2col(bad):
    # The zero columns of the gradient's rows meet input values: inf * 0 would be NaN in taps
    # that never see the inf. Such inputs go to im2col, whose gradient is the reference's.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 1, 12, 12))
    x[1, 0, 5, 0] = bad  # column 0: only taps with j <= pw read it
    grad_output = rng.standard_normal((4, 6, 12, 12))
    geometry = dict(stride=(1, 1), padding=(2, 2), dilation=(1, 1), groups=1)
    got = conv.conv2d_backward_weight(x, grad_output, (6, 1, 5, 5), **geometry)
    want = _reference_weight_gradient(x, grad_output, (5, 5), (2, 2))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    assert np.isfinite(got[:, :, :, 3:]).all()
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Backward: adjoint identities and finite differences


def _assert_adjoint(x, weight, grad_output, geometry, forward=None):
    """<conv(x, w), g> = <x, backward_input(g, w)> = <w, backward_weight(x, g)>."""
    if forward is None:
        forward = reference_conv2d(x, weight, None, **geometry)
    grad_input = conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)
    grad_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry)
    assert grad_input.shape == x.shape and grad_weight.shape == weight.shape
    value = np.vdot(forward, grad_output)
    scale = np.abs(forward).sum() * np.abs(grad_output).max() + 1.0
    assert abs(np.vdot(x, grad_input) - value) <= 1e-11 * scale
    assert abs(np.vdot(weight, grad_weight) - value) <= 1e-11 * scale


@jit_settings
@given(conv_cases())
def test_backward_adjoint_identity(case):
    x, weight, _, geometry = case
    _assert_adjoint(x, weight, _grad_output(x, weight, None, geometry), geometry)


@jit_settings
@given(conv_cases())
def test_both_gradients_in_one_pass_match_the_two_kernels(case):
    x, weight, _, geometry = case
    grad_output = _grad_output(x, weight, None, geometry)
    grad_input, grad_weight = conv.conv2d_backward(x, grad_output, weight, **geometry)
    want_input = conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)
    want_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry)
    assert grad_input.shape == x.shape and grad_weight.shape == weight.shape
    np.testing.assert_allclose(grad_input, want_input, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_weight, want_weight, rtol=1e-12, atol=1e-12)


@jit_settings
@given(conv_cases())
def test_backward_matches_central_differences(case):
    x, weight, bias, geometry = case
    grad_output = _grad_output(x, weight, bias, geometry)
    rng = np.random.default_rng(2)
    dx, dweight = rng.standard_normal(x.shape), rng.standard_normal(weight.shape)
    eps = 1e-6

    def loss(x_, weight_):
        return np.vdot(conv.conv2d_forward(x_, weight_, bias, **geometry), grad_output)

    numeric_x = (loss(x + eps * dx, weight) - loss(x - eps * dx, weight)) / (2 * eps)
    numeric_w = (loss(x, weight + eps * dweight) - loss(x, weight - eps * dweight)) / (2 * eps)
    grad_input = conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)
    grad_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry)
    np.testing.assert_allclose(np.vdot(dx, grad_input), numeric_x, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.vdot(dweight, grad_weight), numeric_w, rtol=1e-6, atol=1e-6)


@jit_settings
@given(conv_cases(), st.integers(0, 2), st.integers(0, 2))
def test_backward_with_output_padding_input_shape(case, extra_h, extra_w):
    # conv_transpose2d's forward is conv2d_backward_input with an input_shape up to
    # max(stride, dilation) - 1 larger than the minimal one for grad_output; grad_output then
    # covers only the first windows of that input.
    x, weight, _, geometry = case
    grad_output = _grad_output(x, weight, None, geometry)
    size = []
    for a, extra in ((0, extra_h), (1, extra_w)):
        stride, dilation = geometry["stride"][a], geometry["dilation"][a]
        extent = dilation * (weight.shape[2 + a] - 1) + 1
        minimal = (grad_output.shape[2 + a] - 1) * stride + extent - 2 * geometry["padding"][a]
        size.append(minimal + extra % max(stride, dilation))
    assume(min(size) >= 1)
    big_x = np.random.default_rng(3).standard_normal((*x.shape[:2], *size))
    out_h, out_w = grad_output.shape[2:]
    forward = reference_conv2d(big_x, weight, None, **geometry)[:, :, :out_h, :out_w]
    _assert_adjoint(big_x, weight, grad_output, geometry, forward=forward)


@jit_settings
@given(conv_cases())
def test_im2col_and_col2im_are_adjoint(case):
    x, weight, _, geometry = case
    kernel_size = weight.shape[2:]
    args = (kernel_size, geometry["stride"], geometry["padding"], geometry["dilation"])
    col = conv.im2col(x, *args)
    other = np.random.default_rng(4).standard_normal(col.shape)
    folded = conv.col2im(other, x.shape, *args)
    assert folded.shape == x.shape
    np.testing.assert_allclose(np.vdot(col, other), np.vdot(x, folded), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kernel, padding, dilation", [(3, 1, 1), (5, 2, 1), (3, 2, 2), ((3, 5), (1, 2), 1)]
)
def test_same_size_stride_one_runs_match_reference_and_leave_col_alone(kernel, padding, dilation):
    # Stride 1 with out_w == width takes im2col's and col2im's one-run-per-tap path, whose
    # padding columns are zeroed in place; col2im must still not change the caller's col.
    rng = np.random.default_rng(7)
    x, weight = (
        rng.standard_normal((3, 2, 6, 7)),
        rng.standard_normal((4, 2, *conv.as_pair(kernel, "k", "t"))),
    )
    geometry = dict(stride=(1, 1), padding=conv.as_pair(padding, "p", "t"),
                    dilation=conv.as_pair(dilation, "d", "t"), groups=1)  # fmt: skip
    forward = conv.conv2d_forward(x, weight, None, **geometry)
    assert forward.shape[3] == x.shape[3]  # the one-run path
    np.testing.assert_allclose(forward, reference_conv2d(x, weight, None, **geometry), atol=1e-12)
    _assert_adjoint(x, weight, _grad_output(x, weight, None, geometry), geometry)
    args = (weight.shape[2:], (1, 1), geometry["padding"], geometry["dilation"])
    other = rng.standard_normal(conv.im2col(x, *args).shape)
    kept = other.copy()
    folded = conv.col2im(other, x.shape, *args)
    np.testing.assert_array_equal(other, kept)
    np.testing.assert_allclose(np.vdot(conv.im2col(x, *args), other), np.vdot(x, folded),
                               rtol=1e-10)  # fmt: skip


def test_im2col_layout_is_channel_tap_rows_by_sample_pixel_columns():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6))
    kh, kw, s, p, d = 2, 3, 2, 1, 1
    col = conv.im2col(x, (kh, kw), (s, s), (p, p), (d, d))
    out_h, out_w = (5 + 2 * p - kh) // s + 1, (6 + 2 * p - kw) // s + 1
    assert col.shape == (3 * kh * kw, 2 * out_h * out_w)
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    for n, c, i, j, oh, ow in np.ndindex(2, 3, kh, kw, out_h, out_w):
        row = (c * kh + i) * kw + j
        column = n * out_h * out_w + oh * out_w + ow
        assert col[row, column] == padded[n, c, oh * s + i * d, ow * s + j * d]


# ---------------------------------------------------------------------------------------------
# Errors


def _x(*shape, dtype=np.float64):
    return np.zeros(shape, dtype)


@pytest.mark.parametrize(
    "call",
    [
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3), _x(1, 1, 5, 5), None),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3), _x(1, 1, 2, 2), None, stride=(0, 1)),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3), _x(1, 1, 2, 2), None, padding=(-1, 0)),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3), _x(1, 1, 2, 2), None, dilation=0),
        lambda: conv.conv2d_forward(_x(1, 3, 4, 4), _x(2, 2, 2, 2), None),
        lambda: conv.conv2d_forward(_x(1, 4, 4, 4), _x(3, 2, 2, 2), None, groups=2),
        lambda: conv.conv2d_forward(_x(1, 4, 4, 4), _x(2, 4, 2, 2), None, groups=2),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3), _x(2, 1, 2, 2), _x(3)),
        lambda: conv.conv2d_forward(_x(1, 3, 3), _x(2, 1, 2, 2), None),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3, dtype=np.float32), _x(1, 1, 2, 2), None),
        lambda: conv.conv2d_forward(_x(1, 1, 3, 3, dtype=np.int64), _x(1, 1, 2, 2), None),
        lambda: conv.conv2d_backward_input(_x(1, 2, 2, 2), _x(2, 1, 2, 2), (1, 1, 5, 5)),
        lambda: conv.conv2d_backward_input(_x(1, 3, 2, 2), _x(2, 1, 2, 2), (1, 1, 3, 3)),
        lambda: conv.conv2d_backward_weight(_x(1, 1, 3, 3), _x(1, 2, 3, 2), (2, 1, 2, 2)),
        lambda: conv.conv2d_backward_weight(_x(1, 1, 3, 3), _x(1, 2, 2, 2), (2, 1, 2)),
        lambda: conv.conv2d_backward(_x(1, 1, 3, 3), _x(1, 2, 3, 2), _x(2, 1, 2, 2)),
        lambda: conv.conv2d_backward(_x(1, 1, 3, 3), _x(1, 2, 2, 2), _x(2, 2, 2, 2)),
        lambda: conv.conv2d_backward(
            _x(1, 1, 3, 3), _x(1, 2, 2, 2), _x(2, 1, 2, 2, dtype=np.float32)
        ),
        lambda: conv.col2im(_x(4, 5), (1, 1, 3, 3), (2, 2)),
    ],
)
def test_kernels_assert_their_preconditions(call):
    # The op layer checks arguments and explains them (tests/ops); the kernels only assert.
    with pytest.raises(AssertionError):
        call()


def test_import_compiles_nothing():
    code = (
        "import importlib, pkgutil\n"
        "import autograd_cv, autograd_cv.kernels as package\n"
        "names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name != 'cuda']\n"
        "modules = [importlib.import_module('autograd_cv.kernels.' + n) for n in names]\n"
        "kernels = {m.__name__: [v for v in vars(m).values() if hasattr(v, 'signatures')]\n"
        "           for m in modules if m.__name__.split('.')[-1] != '_geometry'}\n"
        "assert len(kernels) >= 15, sorted(kernels)\n"
        "assert all(kernels.values()), kernels\n"
        "assert all(not v.signatures for vs in kernels.values() for v in vs), kernels\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _FakeBlas:
    """Stands in for threadpoolctl's BLAS controller: 3 threads, records what is set."""

    def __init__(self) -> None:
        self.num_threads, self.calls = 3, []

    def set_num_threads(self, count: int) -> None:
        self.calls.append(count)


@pytest.mark.parametrize("groups", [1, 2])
def test_batch_split_across_threads_matches_the_serial_result(monkeypatch, groups):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 4, 9, 8))
    weight = rng.standard_normal((6, 4 // groups, 3, 3))
    bias = rng.standard_normal(6)
    geometry = dict(stride=(1, 2), padding=(1, 1), dilation=(1, 1), groups=groups)
    grad_output = _grad_output(x, weight, bias, geometry)

    def run():
        return (
            conv.conv2d_forward(x, weight, bias, **geometry),
            conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry),
            conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry),
            *conv.conv2d_backward(x, grad_output, weight, **geometry),
        )

    monkeypatch.setattr(_split, "blas_pools", lambda: [])  # no BLAS threads: serial
    serial = run()
    blas = _FakeBlas()
    monkeypatch.setattr(_split, "blas_pools", lambda: [blas])
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    monkeypatch.setattr(conv, "BLOCK_BYTES", 1)  # blocks inside each part too
    split = run()
    assert blas.calls == [1, 3] * 4  # single-threaded BLAS while split, then restored
    for got, want in zip(split, serial):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split[0], reference_conv2d(x, weight, bias, **geometry),
                               atol=1e-12)  # fmt: skip


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_batch_split_works_in_a_forked_child_after_the_parent_used_it(monkeypatch):
    import os

    blas = _FakeBlas()
    monkeypatch.setattr(_split, "blas_pools", lambda: [blas])
    monkeypatch.setattr(_split, "SPLIT_MIN_WORK", 0)
    rng = np.random.default_rng(6)
    x, weight = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    geometry = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    expected = conv.conv2d_forward(x, weight, None, **geometry)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: the inherited executor has no threads; a hang fails the test
        ok = np.allclose(conv.conv2d_forward(x, weight, None, **geometry), expected)
        os._exit(0 if ok else 1)
    deadline = __import__("time").monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if __import__("time").monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("conv2d_forward hung in a forked child")
        __import__("time").sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


# ---------------------------------------------------------------------------------------------
# Winograd F(2x2, 3x3): small shapes take it once its size thresholds are lowered.


def _counted_everywhere(monkeypatch, module, kernel: str, thresholds: tuple[str, ...]) -> list:
    """Lower `module`'s size `thresholds` to 1 and count its `kernel` calls: the returned list
    gets True for each call it answered, False for each it declined (a non-finite value)."""
    calls = []
    real = getattr(module, kernel)

    def counted(*args):
        result = real(*args)
        calls.append(result is not None)
        return result

    for name in thresholds:
        monkeypatch.setattr(module, name, 1)
    monkeypatch.setattr(module, kernel, counted)
    return calls


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Every 3x3 stride-1 conv takes the Winograd path; returns the list of its calls."""
    thresholds = ("MIN_CHANNELS", "MIN_OUT_WIDTH", "MIN_SAMPLES", "MIN_OUTPUTS")
    return _counted_everywhere(monkeypatch, winograd, "winograd_conv3x3", thresholds)


@st.composite
def winograd_cases(draw):
    """float64 x, weight, bias, padding of a 3x3 stride-1 conv (odd and even sizes), and a
    block budget: the default, or one so small that each block is one row of tiles."""
    batch, channels, out_channels = (draw(st.integers(1, 3)) for _ in range(3))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, 4 - 2 * padding[0]), 9))
    width = draw(st.integers(max(1, 4 - 2 * padding[1]), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((batch, channels, height, width))
    weight = rng.standard_normal((out_channels, channels, 3, 3))
    block_bytes = draw(st.sampled_from([winograd.BLOCK_BYTES, 1]))
    return x, weight, rng.standard_normal(out_channels), padding, block_bytes


# The fixture only lowers thresholds and counts calls, so sharing it across examples is safe.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(winograd_cases())
def test_winograd_forward_and_gradients_match_reference(winograd_everywhere, monkeypatch, case):
    x, weight, bias, padding, block_bytes = case
    tune = {"BLOCK_BYTES": block_bytes, "WEIGHT_BLOCK_BYTES": block_bytes}
    _assert_fast_path_matches(x, weight, bias, padding, monkeypatch, winograd, tune)
    assert winograd_everywhere and all(winograd_everywhere)


def _assert_fast_path_matches(x, weight, bias, padding, monkeypatch, module, tune):
    """The forward and both gradients of a conv that `module` takes (with `tune` patched into
    it) against the reference, the adjoint identities and im2col (`module` turned off)."""
    geometry = {"stride": (1, 1), "padding": padding, "dilation": (1, 1), "groups": 1}
    with monkeypatch.context() as patch:
        for name, value in tune.items():
            patch.setattr(module, name, value)
        out = conv.conv2d_forward(x, weight, bias, **geometry)
        grad_output = np.random.default_rng(3).standard_normal(out.shape)
        _assert_adjoint(x, weight, grad_output, geometry)  # both gradients against the reference
        grad_input, grad_weight = conv.conv2d_backward(x, grad_output, weight, **geometry)
        alone = conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)
        np.testing.assert_array_equal(grad_input, alone)
    np.testing.assert_allclose(out, reference_conv2d(x, weight, bias, **geometry), atol=1e-12)
    with monkeypatch.context() as patch:  # the same gradients by im2col
        patch.setattr(module, "MIN_CHANNELS", 10**9)
        expected_input, expected_weight = conv.conv2d_backward(x, grad_output, weight, **geometry)
    np.testing.assert_allclose(grad_input, expected_input, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_weight, expected_weight, rtol=1e-12, atol=1e-11)


def test_winograd_float32_error_is_that_of_a_direct_conv():
    # Default thresholds: a 64-channel 3x3 conv on 32x32 maps takes the Winograd path.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64, 32, 32)).astype(np.float32)
    weight = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(np.float32)
    assert winograd.eligible(x.shape, weight.shape, (1, 1), (1, 1), (1, 1), 1, x.dtype)
    exact = reference_conv2d(x, weight, None, (1, 1), (1, 1), (1, 1), 1)
    out = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    assert out.dtype == np.float32
    # the im2col GEMM's error on the same conv, for scale: Winograd stays within 2x of it
    cols = conv.im2col(x, (3, 3), padding=(1, 1))
    direct = (weight.reshape(64, -1) @ cols).reshape(64, 4, 32, 32).transpose(1, 0, 2, 3)
    error, direct_error = np.abs(out - exact).max(), np.abs(direct - exact).max()
    assert error <= 2 * direct_error and error < 1e-5 * np.abs(exact).max()
    # The weight gradient sums over every tile of the batch in the transformed domain, whose
    # values are sums of up to 16 inputs: measured 1.2x the GEMM's error here.
    grad_output = rng.standard_normal(out.shape).astype(np.float32)
    grad_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, (1, 1), (1, 1))
    rows = grad_output.transpose(1, 0, 2, 3).reshape(64, -1)
    exact_w = (rows.astype(np.float64) @ cols.T.astype(np.float64)).reshape(weight.shape)
    direct_w = rows @ cols.T
    error_w = np.abs(grad_weight - exact_w).max()
    direct_error_w = np.abs(direct_w.reshape(weight.shape) - exact_w).max()
    assert grad_weight.dtype == np.float32
    assert error_w <= 2 * direct_error_w and error_w < 1e-5 * np.abs(exact_w).max()


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("where", ["input", "grad_output"])
def test_winograd_leaves_non_finite_values_where_a_direct_conv_puts_them(
    winograd_everywhere, monkeypatch, value, where
):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8))
    weight = rng.standard_normal((4, 3, 3, 3))
    grad_output = rng.standard_normal((2, 4, 8, 8))
    (x if where == "input" else grad_output)[1, 2 if where == "input" else 3, 4, 5] = value
    got = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    got_grads = conv.conv2d_backward(x, grad_output, weight, (1, 1), (1, 1))
    assert False in winograd_everywhere  # it declined the call
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 10**9)  # im2col only
    # A call with finite values still comes by Winograd, so only the rounding differs there;
    # assert_allclose wants NaN and each infinity exactly where the im2col result has them.
    expected = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert (~np.isfinite(got)).any() == (where == "input")
    for a, b in zip(got_grads, conv.conv2d_backward(x, grad_output, weight, (1, 1), (1, 1))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("weight_shape", "stride", "padding", "dilation", "groups", "dtype", "expected"),
    [
        ((64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float32, True),
        ((64, 64, 3, 3), (1, 1), (0, 0), (1, 1), 1, np.float64, True),
        ((64, 64, 3, 3), (2, 2), (1, 1), (1, 1), 1, np.float32, False),
        ((64, 64, 3, 3), (1, 1), (1, 1), (2, 2), 1, np.float32, False),
        ((64, 32, 3, 3), (1, 1), (1, 1), (1, 1), 2, np.float32, False),
        ((64, 64, 5, 5), (1, 1), (2, 2), (1, 1), 1, np.float32, False),
        ((64, 64, 3, 3), (1, 1), (3, 3), (1, 1), 1, np.float32, False),
        ((64, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float32, False),
        ((64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float16, False),
    ],
)
def test_winograd_takes_only_the_convs_it_serves(
    weight_shape, stride, padding, dilation, groups, dtype, expected
):
    shape = (8, weight_shape[1] * groups, 32, 32)
    assert (
        winograd.eligible(shape, weight_shape, stride, padding, dilation, groups, dtype) is expected
    )
    assert not winograd.eligible((8, 64, 12, 12), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1, "f4")


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((1, 64, 112, 112), False), ((2, 64, 32, 32), False), ((4, 64, 32, 32), True),
     ((2, 64, 64, 64), True)],
)  # fmt: skip
def test_winograd_leaves_small_batches_to_im2col(shape, expected):
    got = winograd.eligible(shape, (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float32)
    assert got is expected


# ---------------------------------------------------------------------------------------------
# Winograd on 6x6 tiles, channels innermost (F(4x4, 3x3) and F(2x2, 5x5)): small maps take
# it by default; with its thresholds lowered, every 3x3 and 5x5 stride-1 conv narrower than 24
# outputs does.


@pytest.fixture
def winograd6_everywhere(monkeypatch):
    """Small 3x3 and 5x5 stride-1 convs take the 6x6-tile path; returns the list of its calls."""
    return _counted_everywhere(monkeypatch, winograd6, "conv", ("MIN_CHANNELS", "MIN_COVERED"))


@st.composite
def winograd6_cases(draw):
    """float64 x, weight, bias, padding of a 3x3 or 5x5 stride-1 conv (sizes that are and are
    not multiples of the tile), and a block size: the default, or one tile per block."""
    kernel = draw(st.sampled_from([3, 5]))
    batch = draw(st.integers(2, 3))
    channels, out_channels = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    padding = (draw(st.integers(0, kernel - 1)), draw(st.integers(0, kernel - 1)))
    height = draw(st.integers(max(1, kernel + 1 - 2 * padding[0]), 11))
    width = draw(st.integers(max(1, kernel + 1 - 2 * padding[1]), 11))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((batch, channels, height, width))
    weight = rng.standard_normal((out_channels, channels, kernel, kernel))
    block_tiles = draw(st.sampled_from([winograd6.BLOCK_TILES, 1]))
    return x, weight, rng.standard_normal(out_channels), padding, block_tiles


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(winograd6_cases())
def test_winograd6_forward_and_gradients_match_reference(winograd6_everywhere, monkeypatch, case):
    x, weight, bias, padding, block_tiles = case
    tune = {"BLOCK_TILES": block_tiles}
    _assert_fast_path_matches(x, weight, bias, padding, monkeypatch, winograd6, tune)
    assert winograd6_everywhere and all(winograd6_everywhere)


# AlexNetSmall's conv3 (3x3, 192 -> 384 channels on 7x7) and conv2 (5x5, 64 -> 192 on 15x15),
# with fewer channels out: both take this path with the default thresholds.
@pytest.mark.parametrize(
    ("shape", "out_channels", "kernel", "padding"),
    [((32, 192, 7, 7), 128, 3, 1), ((8, 64, 15, 15), 96, 5, 2)],
)
def test_winograd6_float32_error_is_bounded(monkeypatch, shape, out_channels, kernel, padding):
    rng = np.random.default_rng(0)
    channels = shape[1]
    x = rng.standard_normal(shape).astype(np.float32)
    weight = rng.standard_normal((out_channels, channels, kernel, kernel)) / kernel / channels**0.5
    weight = weight.astype(np.float32)
    geometry = ((1, 1), (padding, padding))
    assert winograd6.eligible(x.shape, weight.shape, *geometry, (1, 1), 1, x.dtype)
    exact = reference_conv2d(x.astype(float), weight.astype(float), None, *geometry, (1, 1), 1)
    out = conv.conv2d_forward(x, weight, None, *geometry)
    assert out.dtype == np.float32
    # The im2col GEMM's error on the same conv, for scale. The transforms multiply by up to 8
    # (5x5: 16/24) and divide by 24. Over several seeds the largest error measured 13-24x the
    # GEMM's on the 3x3 shape (0.7-1.2e-5 of the largest output), 7-12x on the 5x5 one (4-5e-6).
    cols = conv.im2col(x, (kernel, kernel), padding=(padding, padding))
    direct = weight.reshape(out_channels, -1) @ cols
    direct = direct.reshape(out_channels, shape[0], *out.shape[2:]).transpose(1, 0, 2, 3)
    error, direct_error = np.abs(out - exact).max(), np.abs(direct - exact).max()
    assert error <= 32 * direct_error and error < 3e-5 * np.abs(exact).max()
    grad_output = rng.standard_normal(out.shape).astype(np.float32)
    grad_weight = conv.conv2d_backward_weight(x, grad_output, weight.shape, *geometry)
    rows = grad_output.transpose(1, 0, 2, 3).reshape(out_channels, -1)
    exact_w = (rows.astype(np.float64) @ cols.T.astype(np.float64)).reshape(weight.shape)
    direct_w = (rows @ cols.T).reshape(weight.shape)
    error_w = np.abs(grad_weight - exact_w).max()
    assert grad_weight.dtype == np.float32
    assert error_w <= 32 * np.abs(direct_w - exact_w).max()
    assert error_w < 3e-5 * np.abs(exact_w).max()
    grad_input = conv.conv2d_backward_input(grad_output, weight, x.shape, *geometry)
    monkeypatch.setattr(winograd6, "MIN_CHANNELS", 10**9)  # the float64 reference by im2col
    exact_input = conv.conv2d_backward_input(
        grad_output.astype(np.float64), weight.astype(np.float64), x.shape, *geometry
    )
    assert grad_input.dtype == np.float32
    assert np.abs(grad_input - exact_input).max() < 3e-5 * np.abs(exact_input).max()


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("where", ["input", "grad_output", "weight"])
def test_winograd6_leaves_non_finite_values_where_a_direct_conv_puts_them(
    winograd6_everywhere, monkeypatch, value, where
):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 7))
    weight = rng.standard_normal((4, 3, 3, 3))
    grad_output = rng.standard_normal((2, 4, 7, 7))
    target = {"input": (x, (1, 2, 4, 5)), "grad_output": (grad_output, (1, 3, 4, 5))}
    array, index = target.get(where, (weight, (2, 1, 0, 2)))
    array[index] = value
    got = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    got_grads = conv.conv2d_backward(x, grad_output, weight, (1, 1), (1, 1))
    assert False in winograd6_everywhere  # it declined a call
    monkeypatch.setattr(winograd6, "MIN_CHANNELS", 10**9)  # im2col only
    expected = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    for a, b in zip(got_grads, conv.conv2d_backward(x, grad_output, weight, (1, 1), (1, 1))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_winograd6_falls_back_when_the_output_overflows(winograd6_everywhere):
    # Finite inputs whose conv overflows float32: im2col's answer (inf where the sums
    # overflow), not the transforms' (which can turn inf - inf into NaN).
    x = np.full((2, 2, 6, 6), 3e38, np.float32)
    weight = np.ones((2, 2, 3, 3), np.float32)
    got = conv.conv2d_forward(x, weight, None, (1, 1), (1, 1))
    assert winograd6_everywhere == [False]
    assert np.isposinf(got).all()


@pytest.mark.parametrize(
    ("shape", "weight_shape", "stride", "padding", "dtype", "expected"),
    [
        ((32, 192, 7, 7), (384, 192, 3, 3), (1, 1), (1, 1), np.float32, True),  # 32 x 8 x 8
        ((31, 192, 7, 7), (384, 192, 3, 3), (1, 1), (1, 1), np.float32, False),  # too few tiles
        ((8, 64, 18, 18), (64, 64, 3, 3), (1, 1), (0, 0), np.float64, True),
        ((8, 32, 23, 23), (32, 32, 3, 3), (1, 1), (1, 1), np.float32, True),
        ((8, 64, 24, 24), (64, 64, 3, 3), (1, 1), (1, 1), np.float32, False),  # F(2x2, 3x3)'s
        ((1, 64, 23, 23), (64, 64, 3, 3), (1, 1), (1, 1), np.float32, False),  # one sample
        ((32, 16, 7, 7), (64, 16, 3, 3), (1, 1), (1, 1), np.float32, False),  # few channels
        ((32, 64, 7, 7), (64, 64, 3, 3), (2, 2), (1, 1), np.float32, False),
        ((8, 64, 15, 15), (192, 64, 5, 5), (1, 1), (2, 2), np.float32, True),  # 8 x 16 x 16
        ((7, 64, 15, 15), (192, 64, 5, 5), (1, 1), (2, 2), np.float32, False),
        ((8, 64, 15, 15), (192, 64, 5, 5), (1, 1), (5, 5), np.float32, False),
        ((8, 64, 15, 15), (64, 64, 7, 7), (1, 1), (3, 3), np.float32, False),
        ((8, 64, 15, 15), (64, 64, 5, 3), (1, 1), (2, 1), np.float32, False),
        ((32, 64, 7, 7), (64, 64, 3, 3), (1, 1), (3, 3), np.float32, False),
        ((32, 64, 7, 7), (64, 64, 3, 3), (1, 1), (1, 1), np.float16, False),
    ],
)
def test_winograd6_takes_only_the_convs_it_serves(
    shape, weight_shape, stride, padding, dtype, expected
):
    got = winograd6.eligible(shape, weight_shape, stride, padding, (1, 1), 1, dtype)
    assert got is expected
    assert not winograd6.eligible(shape, weight_shape, stride, padding, (2, 2), 1, dtype)
    assert not (got and winograd.eligible(shape, weight_shape, stride, padding, (1, 1), 1, dtype))
