"""Vision beyond classification: detection ops (`vision.ops`) and scene datasets
(`vision.datasets`), with torchvision's names (`import autograd_cv.vision as torchvision`)."""

from autograd_cv.vision import datasets, ops

__all__ = ["datasets", "ops"]
