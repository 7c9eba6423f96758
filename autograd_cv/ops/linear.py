"""`linear`: the affine map of a fully connected layer, x @ weight.T + bias.

No Node of its own: it is one matmul (leading batch axes folded into one, so the weight's
gradient is a single GEMM rather than a batched product summed afterwards) and an add.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.ops.arguments import as_tensor, cast_like, data_of
from autograd_cv.tensor import Tensor


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """input @ weight.T + bias, for weight (out, in) and input (..., in)."""
    input, weight = as_tensor(input), as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be (out_features, in_features), got {weight.shape}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {input.shape} does not match weight of shape "
            f"{weight.shape}; expected the input's last axis to be {weight.shape[1]}"
        )
    if bias is not None and np.shape(data_of(bias)) != (weight.shape[0],):
        raise ValueError(
            f"linear: bias must have shape ({weight.shape[0]},), got {np.shape(data_of(bias))}"
        )
    leading = input.shape[:-1]
    flat = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    out = flat @ weight.T
    if bias is not None:
        # An ndarray bias takes the input's dtype (a float64 constant must not upcast float32).
        out = out + cast_like(bias, out.dtype)
    return out if input.ndim == 2 else out.reshape(*leading, weight.shape[0])
