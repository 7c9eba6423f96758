"""Datasets for tasks beyond classification, built from real digits."""

from autograd_cv.vision.datasets.digit_poses import DigitPoses
from autograd_cv.vision.datasets.digit_scenes import DigitScenes

__all__ = ["DigitPoses", "DigitScenes"]
