"""MNIST, Fashion-MNIST and the small MNIST subset shipped in the package.

Where the files are looked up: in `root` if given, else `$AUTOGRAD_CV_DATA`, else the user
cache (`$XDG_CACHE_HOME/autograd_cv` or `~/.cache/autograd_cv`). Inside that folder each file
is looked for first in the dataset's subfolder (`mnist/`, `fashion-mnist/`), then in the
folder itself; either the `.gz` file or its decompressed twin will do. Missing files are
downloaded into the subfolder when `download=True`.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from autograd_cv.data._files import (
    DatasetFormatError,
    DatasetNotFoundError,
    candidate_dirs,
    data_root,
    is_writable_dir,
)
from autograd_cv.data.dataset import ArrayDataset, BatchTransform
from autograd_cv.data.download import RemoteFile, download, missing_files_message
from autograd_cv.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

_TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class _IDXDataset(ArrayDataset):
    """Images and labels read from a pair of IDX files, images shaped (N, 1, H, W) uint8."""

    def _load(self, images_path: Path, labels_path: Path, transform: BatchTransform | None) -> None:
        images = read_idx(images_path, expected_magic=IMAGES_MAGIC)
        labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)
        if images.ndim != 3 or labels.ndim != 1:
            raise DatasetFormatError(
                f"{images_path}: expected images (N, H, W) and labels (N,), "
                f"got {images.shape} and {labels.shape} from {labels_path}"
            )
        if len(images) != len(labels):
            raise DatasetFormatError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels"
            )
        if images.shape[1:] != (28, 28) or len(images) == 0:
            raise DatasetFormatError(
                f"{images_path}: expected one or more 28x28 images, got shape {images.shape}"
            )
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= len(self.classes):
            bad = int(np.argmax((labels < 0) | (labels >= len(self.classes)) | (labels % 1 != 0)))
            raise DatasetFormatError(
                f"{labels_path}: label {bad} is {labels[bad]}, expected 0..{len(self.classes) - 1}"
            )
        super().__init__(images[:, None], labels, transform)
        self.folder = images_path.parent


class MNIST(_IDXDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 1x28x28 uint8."""

    name = "mnist"
    md5s = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = [str(digit) for digit in range(10)]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: BatchTransform | None = None,
    ) -> None:
        self.train = train
        names = _TRAIN_FILES if train else _TEST_FILES
        images_path, labels_path = self._find_files(data_root(root), names, download)
        self._load(images_path, labels_path, transform)

    def _find_files(self, base: Path, names: tuple[str, ...], fetch: bool) -> list[Path]:
        found = {name: _find_file(base, self.name, name) for name in names}
        missing = [RemoteFile(name, self.md5s[name]) for name, path in found.items() if not path]
        if missing:
            target = base / self.name
            if not fetch:
                raise DatasetNotFoundError(
                    missing_files_message(self.name, missing, target) + "\n(download=False)"
                )
            if not is_writable_dir(target):
                raise DatasetNotFoundError(
                    f"{self.name}: cannot download into {target}/ (not writable); pass a "
                    f"writable root= or set $AUTOGRAD_CV_DATA.\n"
                    + missing_files_message(self.name, missing, target)
                )
            download(self.name, missing, target)
            found.update({remote.name: target / remote.name for remote in missing})
        return [found[name] for name in names]


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60,000 training and 10,000 test images, 1x28x28 uint8."""

    name = "fashion-mnist"
    md5s = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]


class MNISTMini(_IDXDataset):
    """A real MNIST subset shipped in the package: the first 10,000 training and 2,000 test
    images. Needs no network and no data folder; see `mnist_mini/README.md`."""

    classes = MNIST.classes

    def __init__(self, train: bool = True, transform: BatchTransform | None = None) -> None:
        self.train = train
        folder = resources.files("autograd_cv.data").joinpath("mnist_mini")
        images_name, labels_name = _TRAIN_FILES if train else _TEST_FILES
        with (
            resources.as_file(folder.joinpath(images_name)) as images_path,
            resources.as_file(folder.joinpath(labels_name)) as labels_path,
        ):
            self._load(Path(images_path), Path(labels_path), transform)


def _find_file(base: Path, subfolder: str, name: str) -> Path | None:
    for folder in candidate_dirs(base, subfolder):
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    return None
