"""Datasets, a batching DataLoader and batch transforms for autograd_cv."""

from autograd_cv.data._files import ChecksumError, DatasetFormatError, DatasetNotFoundError
from autograd_cv.data.cifar import CIFAR10, read_cifar_bin
from autograd_cv.data.dataset import ArrayDataset, Dataset
from autograd_cv.data.idx import read_idx
from autograd_cv.data.image_folder import ImageFolder
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
    "CIFAR10",
    "MNIST",
    "ArrayDataset",
    "ChecksumError",
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
