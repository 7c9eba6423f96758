"""torch's dtype names, as NumPy's scalar types (`tensor.dtype == float32` compares true)."""

import numpy as np

float32 = float = np.float32  # noqa: A001 - torch's names
float64 = double = np.float64
float16 = half = np.float16
int64 = long = np.int64
int32 = int = np.int32  # noqa: A001
int16 = np.int16
int8 = np.int8
uint8 = np.uint8
bool = np.bool_  # noqa: A001

__all__ = [
    "bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8",
    "int16", "int32", "int64", "long", "uint8",
]  # fmt: skip
