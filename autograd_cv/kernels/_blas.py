"""BLAS's GEMM called from Numba code, so that a kernel's whole part runs without the GIL.

A split kernel whose part is Python between Numba calls and np.matmul takes the GIL back
after every call; when the other thread holds it, the part sleeps on it, and on a 2-vCPU
KVM guest each such wake-up took 20-30 us (see `_split`). A part that is one Numba call,
GEMMs included, takes the GIL once.

The GEMM is the CBLAS ``?gemm`` of the BLAS NumPy itself loaded (found through threadpoolctl,
as `_split` finds its thread count), called through its address: the address is an argument
of the compiled code, not a constant in it, so the kernels stay cacheable. `gemm_table()` is
None where no such symbol is found (another BLAS, another build); callers then keep their
NumPy path.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["gemm_table", "gemm"]

# CBLAS's enums
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

#: (sgemm, dgemm) per naming scheme: NumPy's own OpenBLAS wheels (prefixed, 64-bit integers
#: by the 64_ suffix), a suffixed CBLAS, then a plain one (see `_integer_width`).
_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_"),
    ("cblas_sgemm64_", "cblas_dgemm64_"),
    ("cblas_sgemm", "cblas_dgemm"),
)

_TABLE: list = []


def gemm_table() -> np.ndarray | None:
    """[sgemm address, dgemm address, integer width] of NumPy's BLAS, or None (found once)."""
    if not _TABLE:
        _TABLE.append(_find_gemm())
    return _TABLE[0]


def _find_gemm() -> np.ndarray | None:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency
        return None
    for pool in ThreadpoolController().lib_controllers:
        if pool.user_api != "blas":
            continue
        try:
            library = ctypes.CDLL(pool.filepath)
        except OSError:
            continue
        for single, double in _SYMBOLS:
            try:
                addresses = [ctypes.cast(getattr(library, name), ctypes.c_void_p).value
                             for name in (single, double)]  # fmt: skip
            except AttributeError:
                continue
            width = _integer_width(library, single)
            if width is not None:
                return np.array([*addresses, width], np.int64)
    return None


def _integer_width(library: Any, symbol: str) -> int | None:
    """The width of the integers `symbol` takes (64 or 32), or None where it cannot be told.

    A 64_ suffix means 64-bit integers. A plain name can be either: OpenBLAS says which in
    its build configuration (USE64BITINT); any other BLAS is left to NumPy's path, since a
    wrong guess would pass sizes the library misreads.
    """
    if symbol.endswith("64_"):
        return 64
    for name in ("openblas_get_config", "openblas_get_config64_"):
        config = getattr(library, name, None)
        if config is not None:
            config.restype = ctypes.c_char_p
            return 64 if b"USE64BITINT" in (config() or b"") else 32
    return None


@intrinsic
def _call_gemm(typingctx, table, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """CBLAS ?gemm (row-major, alpha 1) through the address in `table`, by a's dtype."""
    if not all(isinstance(x, types.Array) for x in (a, b, c)):
        return None
    dtype = a.dtype
    if dtype not in (types.float32, types.float64) or b.dtype != dtype or c.dtype != dtype:
        return None
    signature = types.void(table, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, sig, args):
        table_value, ta, tb, m_, n_, k_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        table_array = context.make_array(sig.args[0])(context, builder, table_value)
        which = 0 if dtype == types.float32 else 1
        address = builder.load(builder.gep(table_array.data, [ir.Constant(ir.IntType(64), which)]))
        width = builder.load(builder.gep(table_array.data, [ir.Constant(ir.IntType(64), 2)]))
        float_type = ir.FloatType() if dtype == types.float32 else ir.DoubleType()
        pointer_type = float_type.as_pointer()
        enum = ir.IntType(32)
        alpha = ir.Constant(float_type, 1.0)
        beta_value = context.cast(builder, beta_, sig.args[10], dtype)
        data = [
            builder.bitcast(context.make_array(ty)(context, builder, value).data, pointer_type)
            for ty, value in ((sig.args[6], a_), (sig.args[8], b_), (sig.args[11], c_))
        ]
        flags = [builder.trunc(context.cast(builder, v, t, types.int64), enum)
                 for v, t in ((ta, sig.args[1]), (tb, sig.args[2]))]  # fmt: skip
        sizes = [context.cast(builder, v, t, types.int64)
                 for v, t in zip((m_, n_, k_, lda_, ldb_, ldc_), (sig.args[3], sig.args[4],
                                 sig.args[5], sig.args[7], sig.args[9], sig.args[12]))]  # fmt: skip
        order = ir.Constant(enum, _ROW_MAJOR)
        with builder.if_else(builder.icmp_signed("==", width, ir.Constant(ir.IntType(64), 64))) as (
            wide,
            narrow,
        ):
            for block, integer in ((wide, ir.IntType(64)), (narrow, ir.IntType(32))):
                with block:
                    m2, n2, k2, lda2, ldb2, ldc2 = [
                        s if integer.width == 64 else builder.trunc(s, integer) for s in sizes
                    ]
                    function_type = ir.FunctionType(
                        ir.VoidType(),
                        [enum, enum, enum, integer, integer, integer, float_type, pointer_type,
                         integer, pointer_type, integer, float_type, pointer_type, integer],
                    )  # fmt: skip
                    function = builder.inttoptr(address, function_type.as_pointer())
                    builder.call(function, [order, *flags, m2, n2, k2, alpha, data[0], lda2,
                                            data[1], ldb2, beta_value, data[2], ldc2])  # fmt: skip
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, nogil=True, inline="always")
def _layout(x, item):  # pragma: no cover - compiled
    # (CBLAS transpose flag, leading dimension) of a 2-D view as a row-major operand, or
    # (0, 0) when BLAS cannot read it as one: no unit stride along either axis, or rows
    # that overlap (a leading dimension below the row's length, with more than one row).
    rows, columns = x.shape
    if x.strides[1] == item and x.strides[0] % item == 0:
        lead = x.strides[0] // item
        if rows <= 1:
            return _NO_TRANS, max(lead, columns, 1)  # one row: any stride will do
        return (_NO_TRANS, lead) if lead >= columns else (0, 0)
    if x.strides[0] == item and x.strides[1] % item == 0:
        lead = x.strides[1] // item
        if columns <= 1:
            return _TRANS, max(lead, rows, 1)
        return (_TRANS, lead) if lead >= rows else (0, 0)
    return 0, 0


@njit(cache=True, nogil=True)
def gemm(table, a, b, c, beta):  # pragma: no cover - compiled
    """c = a @ b + beta * c for 2-D float views BLAS can read as they are.

    ``table`` is `gemm_table()`. Each operand needs a unit stride along one axis and rows
    (or columns) that do not overlap; ``c`` along its columns. Anything else is an error,
    not a copy.
    """
    item = c.itemsize
    m, k = a.shape
    n = b.shape[1]
    trans_a, lda = _layout(a, item)
    trans_b, ldb = _layout(b, item)
    trans_c, ldc = _layout(c, item)
    if trans_a == 0 or trans_b == 0 or trans_c != _NO_TRANS:
        raise ValueError("gemm: each operand needs a unit stride along one axis, c along its "
                         "columns, and rows that do not overlap")  # fmt: skip
    _call_gemm(table, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)
