"""Datasets, a batching DataLoader and batch transforms for autograd_cv."""

from autograd_cv.data._files import ChecksumError, DatasetFormatError, DatasetNotFoundError
from autograd_cv.data.dataset import ArrayDataset, Dataset
from autograd_cv.data.idx import read_idx
from autograd_cv.data.loader import DataLoader
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
    "MNIST",
    "ArrayDataset",
    "ChecksumError",
    "Compose",
    "DataLoader",
    "Dataset",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "FashionMNIST",
    "MNISTMini",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToFloat",
    "Transform",
    "read_idx",
]
