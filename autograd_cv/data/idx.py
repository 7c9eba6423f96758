"""Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian int32 per dimension, then the values in C order.
MNIST's image files have magic 2051 (unsigned bytes, 3 dimensions) and its label files
2049 (unsigned bytes, 1 dimension).
"""

from __future__ import annotations

import gzip
import os
import zlib
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


#: the largest IDX payload read unless told otherwise (MNIST's biggest file holds 47 MB)
MAX_IDX_BYTES = 1 << 30


def read_idx(
    path: str | os.PathLike, expected_magic: int | None = None, max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """Read one IDX file (`.gz` or raw) into an ndarray with the dimensions in its header.

    The header says how many bytes follow; reading (and inflating) stops one byte past
    that, so a file that inflates to far more than it declares costs no more memory.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            _check_magic(head, str(path), expected_magic)
            head += f.read(4 * head[3])
            dtype, shape, header_size = _header(head, str(path))
            expected = _payload_bytes(shape, dtype)
            if expected > max_bytes:
                raise DatasetFormatError(
                    f"{path}: header declares shape {shape} ({expected} bytes), more than "
                    f"the {max_bytes} bytes allowed"
                )
            raw = head + f.read(expected + 1)
    except (OSError, EOFError, zlib.error) as error:  # gzip's errors on corrupt or cut files
        raise DatasetFormatError(f"{path}: cannot read as IDX ({error})") from error
    return parse_idx(raw, source=str(path), expected_magic=expected_magic)


def parse_idx(raw: bytes, source: str = "<bytes>", expected_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file; `source` names the file in error messages."""
    _check_magic(raw, source, expected_magic)
    dtype, shape, header_size = _header(raw, source)
    expected_size = header_size + _payload_bytes(shape, dtype)
    if len(raw) != expected_size:
        raise DatasetFormatError(
            f"{source}: header says shape {shape} ({expected_size} bytes in all) "
            f"but the file holds {len(raw)} bytes"
            + (" or more" if len(raw) > expected_size else "")
        )
    values = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def _check_magic(raw: bytes, source: str, expected_magic: int | None) -> None:
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


def _header(raw: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """dtype, shape and header size of the IDX bytes `raw` (which start with the magic)."""
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DatasetFormatError(
            f"{source}: header declares {ndim} dimensions but the file has only {len(raw)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    return _IDX_DTYPES[raw[2]], shape, header_size


def _payload_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _describe_magic(magic: int) -> str:
    return {IMAGES_MAGIC: "an image file", LABELS_MAGIC: "a label file"}.get(magic, "IDX")
