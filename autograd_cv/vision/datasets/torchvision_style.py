"""MNIST, FashionMNIST, CIFAR10 and ImageFolder with torchvision's arguments and layout.

Each sample is `(PIL image, int class)` before `transform` / `target_transform`, as in
torchvision. Files are found in torchvision's layout (`root/MNIST/raw/`,
`root/cifar-10-batches-bin/`) or in ours (`root/mnist/`, `root/cifar-10/`, a PNG zip);
downloads are md5-checked, and nothing is ever unpickled: CIFAR-10's pickled "python
version" is refused and the binary version fetched instead.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from autograd_cv.data import cifar as cifar_files
from autograd_cv.data import download as downloads
from autograd_cv.data import mnist as mnist_files
from autograd_cv.data._files import DatasetFormatError, DatasetNotFoundError
from autograd_cv.data.dataset import Dataset
from autograd_cv.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from autograd_cv.tensor import Tensor

Transform = Callable[[Any], Any] | None


class VisionDataset(Dataset):
    """Base class: `root`, `transform` on the image, `target_transform` on the class."""

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Transform = None,
        target_transform: Transform = None,
    ) -> None:
        self.root = Path(os.path.expanduser(str(root)))
        self.transform = transform
        self.target_transform = target_transform

    def _sample(self, index: int) -> tuple[Any, int]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self._sample(int(index))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        lines.append(f"    Root location: {self.root}")
        if hasattr(self, "train"):
            lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


class MNIST(VisionDataset):
    """MNIST digits as torchvision.datasets.MNIST: `data` (N, 28, 28) uint8, `targets` int64.

    Files are looked for in `root/MNIST/raw/` (torchvision's layout), then `root/mnist/` and
    `root/` (ours), as `.gz` or decompressed; `download=True` fetches the missing ones into
    `root/MNIST/raw/`, md5-checked.
    """

    mirror = "mnist"  # the name in data/download.py's MIRRORS
    ours = mnist_files.MNIST
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Transform = None,
        target_transform: Transform = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        names = mnist_files._TRAIN_FILES if train else mnist_files._TEST_FILES
        paths = [self._find(name) for name in names]
        if not all(paths):
            missing = [
                downloads.RemoteFile(name, self.ours.md5s[name])
                for name, path in zip(names, paths)
                if path is None
            ]
            if not download:
                raise DatasetNotFoundError(
                    f"{type(self).__name__}: files not found; pass download=True, or put them in "
                    "one of the folders below.\n"
                    + downloads.missing_files_message(self.mirror, missing, self.raw_folder)
                    + f"\n(also looked in {self.root / self.ours.name}/ and {self.root}/)"
                )
            self.raw_folder.mkdir(parents=True, exist_ok=True)
            downloads.download(self.mirror, missing, self.raw_folder)
            paths = [self._find(name) for name in names]
        images = read_idx(paths[0], expected_magic=IMAGES_MAGIC)
        labels = read_idx(paths[1], expected_magic=LABELS_MAGIC)
        if images.ndim != 3 or len(images) != len(labels):
            raise DatasetFormatError(
                f"{paths[0]}: expected images (N, H, W) matching {len(labels)} labels, "
                f"got {images.shape}"
            )
        self.data = Tensor(images)
        self.targets = Tensor(labels.astype(np.int64))

    @property
    def raw_folder(self) -> Path:
        """torchvision's folder for the downloaded files: root/<ClassName>/raw."""
        return self.root / type(self).__name__ / "raw"

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> index."""
        return {name: i for i, name in enumerate(self.classes)}

    def _find(self, name: str) -> Path | None:
        for folder in (self.raw_folder, self.root / self.ours.name, self.root):
            for candidate in (folder / name, folder / name.removesuffix(".gz")):
                if candidate.is_file():
                    return candidate
        return None

    def __len__(self) -> int:
        return len(self.targets)

    def _sample(self, index: int) -> tuple[Any, int]:
        return Image.fromarray(self.data.data[index]), int(self.targets.data[index])


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, as torchvision.datasets.FashionMNIST (MNIST's layout)."""

    mirror = "fashion-mnist"
    ours = mnist_files.FashionMNIST
    classes = list(mnist_files.FashionMNIST.classes)


#: The official binary version; the pickled "python version" is never read.
CIFAR10_BINARY = downloads.RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
downloads.MIRRORS.setdefault("cifar-10", ["https://www.cs.toronto.edu/~kriz/"])
_CIFAR_MEMBERS = {*cifar_files._TRAIN_BATCHES, *cifar_files._TEST_BATCHES, "batches.meta.txt"}


class CIFAR10(VisionDataset):
    """CIFAR-10 as torchvision.datasets.CIFAR10: `data` (N, 32, 32, 3) uint8, `targets` ints.

    Read from `root/cifar-10-batches-bin/` (the official binary version) or from any layout
    `autograd_cv.data.CIFAR10` accepts. `download=True` fetches the binary version
    (md5-checked) into `root`. The pickled "python version" (`cifar-10-batches-py/`) is
    refused: unpickling a downloaded file can run arbitrary code.
    """

    classes = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Transform = None,
        target_transform: Transform = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        try:
            found = cifar_files.CIFAR10(self.root, train)
        except DatasetNotFoundError as error:
            pickled = self.root / "cifar-10-batches-py"
            if not download:
                hint = (
                    f"\n{pickled}/ holds the pickled python version, which autograd_cv refuses "
                    "to read (unpickling can run arbitrary code); use the binary version."
                    if pickled.exists()
                    else ""
                )
                raise DatasetNotFoundError(f"{error}\n(or pass download=True){hint}") from None
            self._download()
            found = cifar_files.CIFAR10(self.root, train)
        self.data = np.ascontiguousarray(found.images.transpose(0, 2, 3, 1))
        self.targets = [int(label) for label in found.labels]

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> index."""
        return {name: i for i, name in enumerate(self.classes)}

    def _download(self) -> None:
        """Fetch the binary tarball (md5-checked) and unpack its batch files, and only those."""
        self.root.mkdir(parents=True, exist_ok=True)
        archive = self.root / CIFAR10_BINARY.name
        if not archive.is_file():
            downloads.download("cifar-10", [CIFAR10_BINARY], self.root)
        target = self.root / "cifar-10-batches-bin"
        target.mkdir(exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and name in _CIFAR_MEMBERS:
                    source = tar.extractfile(member)
                    (target / name).write_bytes(source.read())

    def __len__(self) -> int:
        return len(self.targets)

    def _sample(self, index: int) -> tuple[Any, int]:
        return Image.fromarray(self.data[index]), self.targets[index]


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def default_loader(path: str) -> Image.Image:
    """Open an image file as RGB (torchvision's default loader)."""
    with open(path, "rb") as file:
        return Image.open(file).convert("RGB")


class ImageFolder(VisionDataset):
    """Images in `root/<class>/**/<file>`, labelled by class folder in sorted order, read
    lazily with `loader` (torchvision.datasets.ImageFolder)."""

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Transform = None,
        target_transform: Transform = None,
        loader: Callable[[str], Any] = default_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"ImageFolder: {self.root} is not a folder")
        self.classes = sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())
        if not self.classes:
            raise DatasetNotFoundError(f"ImageFolder: no class folders in {self.root}")
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        valid = is_valid_file or (lambda path: path.lower().endswith(IMG_EXTENSIONS))
        self.samples: list[tuple[str, int]] = []
        for name in self.classes:
            files = sorted(
                os.path.join(folder, file)
                for folder, _, names in os.walk(self.root / name, followlinks=True)
                for file in names
            )
            chosen = [(path, self.class_to_idx[name]) for path in files if valid(path)]
            if not chosen and not allow_empty:
                raise DatasetNotFoundError(
                    f"ImageFolder: found no valid image file in {self.root / name}/ "
                    f"(extensions {', '.join(IMG_EXTENSIONS)})"
                )
            self.samples.extend(chosen)
        self.imgs = self.samples
        self.targets = [label for _, label in self.samples]
        self.loader = loader

    def __len__(self) -> int:
        return len(self.samples)

    def _sample(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        return self.loader(path), label
