"""BLAS's GEMM called from Numba (_blas.py): the address found, and its products."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cv.kernels import _blas, _split


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    found = _blas.gemm_table()
    openblas = [p for p in _split.blas_pools() if p.internal_api == "openblas"]
    if found is None:
        # Only a BLAS without CBLAS's ?gemm symbols may leave the kernels on NumPy's path.
        assert not openblas, "NumPy's OpenBLAS is loaded but its sgemm was not found"
        pytest.skip("this NumPy's BLAS exports no CBLAS ?gemm; the kernels use np.matmul")
    return found


def _operand(rng, rows: int, columns: int, dtype, transposed: bool) -> np.ndarray:
    """A rows x columns operand, C-ordered or a transposed view, inside a wider buffer."""
    if transposed:
        return rng.standard_normal((columns, rows + 3)).astype(dtype)[:, :rows].T
    return rng.standard_normal((rows, columns + 2)).astype(dtype)[:, :columns]


@settings(deadline=None, max_examples=60)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 40),
    st.booleans(),
    st.booleans(),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([0.0, 1.0]),
    st.integers(0, 2**32 - 1),
)
def test_gemm_matches_numpy(table, m, k, n, trans_a, trans_b, dtype, beta, seed) -> None:
    # c = a @ b + beta c, with either operand transposed and every leading dimension wider
    # than its rows (views into bigger buffers), against a float64 product.
    rng = np.random.default_rng(seed)
    a = _operand(rng, m, k, dtype, trans_a)
    b = _operand(rng, k, n, dtype, trans_b)
    buffer = rng.standard_normal((m, n + 5)).astype(dtype)
    before = buffer.copy()
    c = buffer[:, :n]
    _blas.gemm(table, a, b, c, beta)
    want = a.astype(np.float64) @ b.astype(np.float64) + beta * before[:, :n]
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(c, want, rtol=tolerance, atol=tolerance * scale * k)
    np.testing.assert_array_equal(buffer[:, n:], before[:, n:])  # nothing past c's columns


def test_gemm_refuses_operands_without_a_unit_stride(table) -> None:
    a = np.ones((4, 6), np.float32)[:, ::2]  # stride 2 along both axes' elements
    with pytest.raises(ValueError, match="unit stride"):
        _blas.gemm(table, a, np.ones((3, 2), np.float32), np.empty((4, 2), np.float32), 0.0)


def test_gemm_refuses_what_blas_would_misread(table) -> None:
    # An output stepping across columns, and rows that overlap (a sliding window whose row
    # stride is below its length): BLAS would write or read the wrong values, so both are
    # errors rather than answers.
    a, b = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="unit stride"):
        _blas.gemm(table, a, b, np.empty((4, 4), np.float32)[:, ::2], 0.0)
    with pytest.raises(ValueError, match="unit stride"):
        _blas.gemm(table, a, b, np.empty((2, 4), np.float32).T, 0.0)  # column-major c
    flat = np.arange(8, dtype=np.float32)
    windows = np.lib.stride_tricks.as_strided(flat, (4, 3), (4, 4))  # rows 1 apart
    with pytest.raises(ValueError, match="overlap"):
        _blas.gemm(table, windows, b, np.empty((4, 2), np.float32), 0.0)
    one_row = np.lib.stride_tricks.as_strided(flat, (1, 3), (0, 4))  # one row: any stride
    c = np.empty((1, 2), np.float32)
    _blas.gemm(table, one_row, b, c, 0.0)
    np.testing.assert_array_equal(c, flat[None, :3] @ b)


class _Library:
    """Stands in for a ctypes library: only the attributes given exist."""

    def __init__(self, **symbols) -> None:
        self.__dict__.update(symbols)


def _config(text: bytes):
    def openblas_get_config() -> bytes:
        return text

    return openblas_get_config


@pytest.mark.parametrize(
    "library, symbol, width",
    [
        (_Library(), "scipy_cblas_sgemm64_", 64),  # the suffix says it
        (_Library(openblas_get_config=_config(b"OpenBLAS 0.3.21 DYNAMIC_ARCH")), "cblas_sgemm", 32),
        (_Library(openblas_get_config=_config(b"OpenBLAS USE64BITINT DYNAMIC_ARCH")),
         "cblas_sgemm", 64),
        (_Library(), "cblas_sgemm", None),  # not OpenBLAS: the width cannot be told
    ],
)  # fmt: skip
def test_integer_width_is_taken_only_where_it_is_known(library, symbol, width) -> None:
    # A wrong width would hand BLAS sizes it misreads, so an unknown one leaves NumPy's path.
    assert _blas._integer_width(library, symbol) == width
