"""Special functions on CuPy arrays, for the CUDA kernel table: CuPy ships them as ufuncs in
`cupyx.scipy.special`. Imported only by the CUDA backend's loader (autograd_cv/backend.py)."""

from __future__ import annotations

from typing import Any

import numpy as np


def erf(x: Any) -> Any:
    """The error function elementwise, in x's floating dtype (float32 for integers, as the
    CPU kernel)."""
    from cupyx.scipy import special

    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    return special.erf(x).astype(x.dtype, copy=False)


#: kernel name -> function, for tables built before these existed
KERNELS = {"erf": erf}
