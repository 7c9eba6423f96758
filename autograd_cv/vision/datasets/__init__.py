"""Datasets with torchvision's names, arguments and folder layout, and scenes of real
digits for the tasks beyond classification (DigitScenes, DigitPoses)."""

from autograd_cv.vision.datasets.digit_poses import DigitPoses
from autograd_cv.vision.datasets.digit_scenes import DigitScenes
from autograd_cv.vision.datasets.torchvision_style import (
    CIFAR10,
    MNIST,
    FashionMNIST,
    ImageFolder,
    VisionDataset,
)

__all__ = [
    "CIFAR10", "MNIST", "DigitPoses", "DigitScenes", "FashionMNIST", "ImageFolder",
    "VisionDataset",
]  # fmt: skip
