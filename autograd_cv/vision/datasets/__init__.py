"""Datasets with torchvision's names, arguments and folder layout."""

from autograd_cv.vision.datasets.torchvision_style import (
    CIFAR10,
    MNIST,
    FashionMNIST,
    ImageFolder,
    VisionDataset,
)

__all__ = ["CIFAR10", "MNIST", "FashionMNIST", "ImageFolder", "VisionDataset"]
