"""CIFAR-10: 50,000 training and 10,000 test images, 3x32x32 uint8, ten classes.

Looked up in `root` if given, else `$AUTOGRAD_CV_DATA`, else the user cache; inside it first
in `cifar-10/`, then in the folder itself. Accepted layouts, in this order:

1. the official binary version: `cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`
   (or those files directly in the folder);
2. an image folder: `train/<class>/*.png` and `test/<class>/*.png`;
3. a zip with that layout, named `cifar*.zip` (e.g. `cifar-10-png-by-class.zip`).

Nothing is downloaded and nothing is unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autograd_cv.data._files import (
    DatasetFormatError,
    DatasetNotFoundError,
    candidate_dirs,
    data_root,
)
from autograd_cv.data.dataset import ArrayDataset, BatchTransform
from autograd_cv.data.image_folder import ImageFolder

_RECORD_BYTES = 1 + 3 * 32 * 32  # one label byte, then R, G and B planes of 32x32
_TRAIN_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST_BATCHES = ["test_batch.bin"]


def read_cifar_bin(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    path = Path(path)
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD_BYTES:
        raise DatasetFormatError(
            f"{path}: {raw.size} bytes is not a whole number of {_RECORD_BYTES}-byte CIFAR-10 "
            f"records (1 label byte + 3072 pixel bytes)"
        )
    records = raw.reshape(-1, _RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CIFAR10.classes):
        bad = int(np.argmax(labels >= len(CIFAR10.classes)))
        raise DatasetFormatError(
            f"{path}: record {bad} has label {labels[bad]}, expected 0..{len(CIFAR10.classes) - 1}"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


class CIFAR10(ArrayDataset):
    """CIFAR-10 from the official binary batches, an image folder, or a zip of PNGs."""

    classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: BatchTransform | None = None,
    ) -> None:
        self.train = train
        split = "train" if train else "test"
        base = data_root(root)
        for folder in candidate_dirs(base, "cifar-10"):
            for bin_folder in (folder / "cifar-10-batches-bin", folder):
                names = _TRAIN_BATCHES if train else _TEST_BATCHES
                if all((bin_folder / name).is_file() for name in names):
                    parts = [read_cifar_bin(bin_folder / name) for name in names]
                    images = np.concatenate([images for images, _ in parts])
                    labels = np.concatenate([labels for _, labels in parts])
                    super().__init__(images, labels, transform)
                    self.source = bin_folder
                    return
            zips = sorted(folder.glob("cifar*.zip"))
            if (folder / split).is_dir():
                source = folder
            elif zips:
                source = zips[0]
            else:
                continue
            images_folder = ImageFolder(source, split, image_size=(32, 32))
            if images_folder.classes != self.classes:
                raise DatasetFormatError(
                    f"{source}: class folders {images_folder.classes} are not CIFAR-10's "
                    f"{self.classes}"
                )
            if images_folder.images.shape[1:] != (3, 32, 32):
                raise DatasetFormatError(
                    f"{source}: images are {images_folder.images.shape[1:]}, expected (3, 32, 32)"
                )
            super().__init__(images_folder.images, images_folder.labels, transform)
            self.source = source
            self.files = images_folder.files
            return
        looked_in = " and ".join(f"{d}/" for d in candidate_dirs(base, "cifar-10"))
        raise DatasetNotFoundError(
            f"CIFAR-10 ({split}) not found; looked in {looked_in}. Put there one of:\n"
            f"  cifar-10-batches-bin/ with {', '.join(_TRAIN_BATCHES + _TEST_BATCHES)} (from "
            "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, "
            "md5 c32a1d4ab5d03f1284b67883e8d87530)\n"
            "  train/<class>/*.png and test/<class>/*.png folders\n"
            "  a cifar*.zip holding train/<class>/*.png and test/<class>/*.png\n"
            "or pass root= (or set $AUTOGRAD_CV_DATA) to the folder that holds them."
        )
