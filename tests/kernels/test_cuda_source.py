"""The CUDA backend's kernel table (autograd_cv/kernels/cuda.py and cuda_source.cu) against
the CPU kernels, on machines without a GPU: the CUDA C source is compiled with the host's
C++ compiler, each kernel run one thread at a time over its whole grid, and the table built
on NumPy arrays around it. This checks the kernels' index arithmetic and the launch
arguments the table passes; tests/cuda/ checks the same kernels on a GPU."""

from __future__ import annotations

import contextlib
import ctypes
import re
import shutil
import subprocess
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cv import kernels as cpu
from autograd_cv.kernels import cuda
from autograd_cv.kernels.cuda import C_TYPES, INDEX_TYPES, SOURCE, make_kernels

#: what makes CUDA C plain C++: one thread index at a time, atomics as plain adds
PRELUDE = """
struct Index { unsigned int x; };
static Index blockIdx, blockDim, threadIdx;
#define __global__
template <typename T> T atomicAdd(T* at, T value) { T old = *at; *at += value; return old; }
struct AsPointer {
    void* p;
    template <typename P> operator P*() const { return static_cast<P*>(p); }
};
"""
HOST_TYPES = {np.dtype(np.float64): "double", np.dtype(np.float32): "float"}


def _signatures(source: str) -> dict[str, list[str]]:
    """Kernel name -> its parameters' kinds, in order: 'array' or 'int'."""
    found = {}
    for name, params in re.findall(r"__global__ void (\w+)\(([^)]*)\)", source):
        found[name] = ["array" if "*" in p else "int" for p in params.split(",")]
    return found


def _wrapper(name: str, kinds: list[str], c_type: str, index: str) -> str:
    """extern "C" name_type(void** a, long long* i, total): every thread of the grid in turn."""
    args, arrays, ints = [], 0, 0
    for kind in kinds[:-1]:  # the last one is `total`
        if kind == "array":
            args.append(f"AsPointer{{a[{arrays}]}}")
            arrays += 1
        else:
            args.append(f"i[{ints}]")
            ints += 1
    symbol = f"{name}_{c_type}_{index}".replace(" ", "_")
    return (
        f'extern "C" void {symbol}(void** a, const long long* i, long long total) {{\n'
        f"  blockDim.x = 1; threadIdx.x = 0;\n"
        f"  for (long long k = 0; k < total; ++k) {{ blockIdx.x = (unsigned int)k;\n"
        f"    {name}<{c_type}, {index}>({', '.join([*args, 'total'])}); }}\n}}\n"
    )


@pytest.fixture(scope="module")
def host_kernels(tmp_path_factory):
    """The kernel table on NumPy arrays, its kernels compiled from cuda_source.cu for the host."""
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler on this machine to build the CUDA source for the host")
    source = SOURCE.read_text()
    kinds = _signatures(source)
    assert set(kinds) == {"im2col", "col2im", "max_pool", "max_unpool", "avg_pool", "avg_unpool"}
    # An array argument converts to whatever pointer type its parameter has.
    text = PRELUDE + source
    for name, kind in kinds.items():
        for c_type in HOST_TYPES.values():
            for index, _ in INDEX_TYPES.values():
                text += _wrapper(name, kind, c_type, index)
    folder = tmp_path_factory.mktemp("cuda_source")
    (folder / "host.cpp").write_text(text)
    library = folder / "host.so"
    done = subprocess.run(
        [compiler, "-O1", "-std=c++14", "-shared", "-fPIC",
         str(folder / "host.cpp"), "-o", str(library)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lib = ctypes.CDLL(str(library))

    def kernel(name: str, dtype: np.dtype, index: str):
        assert np.dtype(dtype) in C_TYPES
        function = getattr(lib, f"{name}_{HOST_TYPES[np.dtype(dtype)]}_{index}".replace(" ", "_"))
        launched.append(index)

        def run(grid, block, args):
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            ints = [int(a) for a in args[:-1] if not isinstance(a, np.ndarray)]
            assert all(a.flags.c_contiguous for a in arrays), name
            assert grid[0] * block[0] >= int(args[-1]), name
            pointers = (ctypes.c_void_p * max(1, len(arrays)))(*[a.ctypes.data for a in arrays])
            values = (ctypes.c_longlong * max(1, len(ints)))(*ints)
            function(pointers, values, ctypes.c_longlong(int(args[-1])))

        return run

    launched: list[str] = []
    table = make_kernels(np, kernel)
    table.launched = launched
    return table


@contextlib.contextmanager
def _index_type(table, wide: bool):
    """Launch the 64-bit (`wide`) or the 32-bit instances inside, and check those ran."""
    start = len(table.launched)
    with mock.patch.object(cuda, "NARROW_LIMIT", -1 if wide else cuda.NARROW_LIMIT):
        yield
    assert set(table.launched[start:]) == {INDEX_TYPES[wide][0]}


def _same(got, want, what: str) -> None:
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for u, v in zip(got, want):
        assert u.shape == v.shape and u.dtype == v.dtype, (what, u.shape, v.shape, u.dtype, v.dtype)
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12, err_msg=what)


@st.composite
def _conv(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
    ph, pw = draw(st.integers(0, kh)), draw(st.integers(0, kw))
    reach_h, reach_w = max(1, dh * (kh - 1) + 1 - 2 * ph), max(1, dw * (kw - 1) + 1 - 2 * pw)
    height, width = draw(st.integers(reach_h, reach_h + 6)), draw(st.integers(reach_w, reach_w + 6))
    groups = draw(st.sampled_from([1, 2]))
    return (draw(st.integers(1, 3)), 2 * groups, height, width), (kh, kw), (sh, sw), (ph, pw), (
        dh, dw), groups  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(_conv(), st.integers(0, 2**32 - 1), st.booleans())
def test_conv_and_im2col_match_the_cpu(host_kernels, case, seed, wide) -> None:
    with _index_type(host_kernels, wide):
        _check_conv(host_kernels, case, seed)


def _check_conv(host_kernels, case, seed) -> None:
    shape, kernel_size, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((2 * groups, shape[1] // groups, *kernel_size))
    b = rng.standard_normal(2 * groups)
    geometry = (stride, padding, dilation, groups)
    out = cpu.conv2d_forward(x, w, b, *geometry)
    _same(host_kernels.conv2d_forward(x, w, b, *geometry), out, "conv2d")
    g = rng.standard_normal(out.shape)
    _same(host_kernels.conv2d_backward_input(g, w, x.shape, *geometry),
          cpu.conv2d_backward_input(g, w, x.shape, *geometry), "input grad")  # fmt: skip
    _same(host_kernels.conv2d_backward_weight(x, g, w.shape, *geometry),
          cpu.conv2d_backward_weight(x, g, w.shape, *geometry), "weight grad")  # fmt: skip
    _same(host_kernels.im2col(x, kernel_size, stride, padding, dilation),
          cpu.im2col(x, kernel_size, stride, padding, dilation), "im2col")  # fmt: skip


@st.composite
def _pool(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    reach_h, reach_w = max(1, dh * (kh - 1) + 1 - 2 * ph), max(1, dw * (kw - 1) + 1 - 2 * pw)
    height, width = draw(st.integers(reach_h, reach_h + 6)), draw(st.integers(reach_w, reach_w + 6))
    return (draw(st.integers(1, 2)), 2, height, width), (kh, kw), (sh, sw), (ph, pw), (dh, dw)


@settings(max_examples=30, deadline=None)
@given(_pool(), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_pooling_matches_the_cpu(host_kernels, case, seed, nan, wide) -> None:
    with _index_type(host_kernels, wide):
        _check_pooling(host_kernels, case, seed, nan)


def _check_pooling(host_kernels, case, seed, nan) -> None:
    shape, kernel_size, stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if nan:
        x.flat[rng.integers(0, x.size, 2)] = np.nan
    out, indices = cpu.max_pool2d_forward(x, kernel_size, stride, padding, dilation)
    _same(host_kernels.max_pool2d_forward(x, kernel_size, stride, padding, dilation),
          (out, indices), "max pool")  # fmt: skip
    g = rng.standard_normal(out.shape)
    _same(host_kernels.max_pool2d_backward(g, indices, x.shape),
          cpu.max_pool2d_backward(g, indices, x.shape), "max unpool")  # fmt: skip
    x = rng.standard_normal(shape)
    for include in (True, False):
        args = (kernel_size, stride, padding, include)
        out = cpu.avg_pool2d_forward(x, *args)
        _same(host_kernels.avg_pool2d_forward(x, *args), out, "avg pool")
        g = rng.standard_normal(out.shape)
        _same(host_kernels.avg_pool2d_backward(g, x.shape, *args),
              cpu.avg_pool2d_backward(g, x.shape, *args), "avg unpool")  # fmt: skip


def test_float32_instances(host_kernels) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    got = host_kernels.conv2d_forward(x, w, None, *geometry)
    assert got.dtype == np.float32
    want = cpu.conv2d_forward(x, w, None, *geometry)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(want.shape).astype(np.float32)
    got = host_kernels.conv2d_backward_input(g, w, x.shape, *geometry)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, cpu.conv2d_backward_input(g, w, x.shape, *geometry),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    out, indices = host_kernels.max_pool2d_forward(x, (3, 2), (2, 2))
    _same((out, indices), cpu.max_pool2d_forward(x, (3, 2), (2, 2)), "float32 max pool")


def test_batch_norm_and_relu_match_the_cpu(host_kernels) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5, 2))
    weight, bias = rng.standard_normal(4), rng.standard_normal(4)
    _same(host_kernels.batch_norm_forward(x, weight, bias, 1e-5),
          cpu.batch_norm_forward(x, weight, bias, 1e-5), "batch norm")  # fmt: skip
    normalised, inv_std = cpu.batch_norm_forward(x, weight, bias, 1e-5)[1::3]
    g = rng.standard_normal(x.shape)
    backward = cpu.batch_norm_backward(g, normalised, weight, inv_std)
    _same(host_kernels.batch_norm_backward(g, normalised, weight, inv_std), backward, "backward")
    _same(host_kernels.channel_sums(g, normalised), cpu.channel_sums(g, normalised), "sums")
    out = np.maximum(x, 0)
    _same(host_kernels.relu_backward(g, out), cpu.relu_backward(g, out), "relu backward")
