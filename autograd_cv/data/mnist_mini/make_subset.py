"""Rebuild the embedded MNIST subset from the full MNIST files.

    python autograd_cv/data/mnist_mini/make_subset.py [path/to/full/mnist]

Takes the first 10,000 training and the first 2,000 test images with their labels (the
original order, no selection), and writes them as IDX files gzip-compressed with a fixed
header (no file name, mtime 0) so the output bytes are reproducible. The default source
is the `shared/data/mnist` folder beside the repository.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[3] / "shared" / "data" / "mnist"
SPLITS = {"train": 10_000, "t10k": 2_000}


def read_idx_bytes(path: Path) -> tuple[bytes, np.ndarray]:
    """The header (minus the count) and the values of an IDX file."""
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4)
    values = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return raw[:4], values


def write_idx_gz(path: Path, magic: bytes, values: np.ndarray) -> None:
    header = magic + np.asarray(values.shape, ">u4").tobytes()
    with open(path, "wb") as raw_file:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw_file, compresslevel=9, mtime=0) as f:
            f.write(header + values.tobytes())


def main(source: Path) -> None:
    for split, count in SPLITS.items():
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte.gz"
            magic, values = read_idx_bytes(source / name)
            write_idx_gz(HERE / name, magic, values[:count])
            print(f"{name}: {count} of {len(values)}, {(HERE / name).stat().st_size} bytes")
        labels = read_idx_bytes(HERE / f"{split}-labels-idx1-ubyte.gz")[1]
        print(f"  {split} class counts: {np.bincount(labels, minlength=10).tolist()}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
