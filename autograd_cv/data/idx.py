"""Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian int32 per dimension, then the values in C order.
MNIST's image files have magic 2051 (unsigned bytes, 3 dimensions) and its label files
2049 (unsigned bytes, 1 dimension).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from autograd_cv.data._files import DatasetFormatError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# type code -> big-endian dtype, as the IDX format defines them
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (`.gz` or raw) into an ndarray with the dimensions in its header."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:  # gzip raises these on corrupt or truncated files
        raise DatasetFormatError(f"{path}: cannot read as IDX ({error})") from error
    return parse_idx(raw, source=str(path), expected_magic=expected_magic)


def parse_idx(raw: bytes, source: str = "<bytes>", expected_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file; `source` names the file in error messages."""
    if len(raw) < 4:
        raise DatasetFormatError(f"{source}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetFormatError(
            f"{source}: IDX magic number is {magic}, expected {expected_magic} "
            f"({_describe_magic(expected_magic)})"
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetFormatError(f"{source}: {magic} is not an IDX magic number")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DatasetFormatError(
            f"{source}: header declares {ndim} dimensions but the file has only {len(raw)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected_size = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected_size:
        raise DatasetFormatError(
            f"{source}: header says shape {shape} ({expected_size} bytes in all) "
            f"but the file holds {len(raw)} bytes"
        )
    values = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def _describe_magic(magic: int) -> str:
    return {IMAGES_MAGIC: "an image file", LABELS_MAGIC: "a label file"}.get(magic, "IDX")
