"""Datasets, a batching DataLoader and batch transforms for autograd_cv."""

from autograd_cv.data._files import ChecksumError, DatasetFormatError, DatasetNotFoundError
from autograd_cv.data.cifar import CIFAR10, read_cifar_bin
from autograd_cv.data.collate import default_collate
from autograd_cv.data.dataset import (
    ArrayDataset,
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
)
from autograd_cv.data.idx import read_idx
from autograd_cv.data.image_folder import ImageFolder
from autograd_cv.data.loader import DataLoader, get_worker_info
from autograd_cv.data.mnist import MNIST, FashionMNIST, MNISTMini
from autograd_cv.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    Transform,
)

__all__ = [
    "CIFAR10",
    "MNIST",
    "ArrayDataset",
    "ChecksumError",
    "ConcatDataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "get_worker_info",
    "random_split",
    "Compose",
    "DataLoader",
    "Dataset",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "FashionMNIST",
    "ImageFolder",
    "MNISTMini",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToFloat",
    "Transform",
    "read_cifar_bin",
    "read_idx",
]
