"""torchvision's layout: `import autograd_cv.vision as torchvision`.

datasets (MNIST, FashionMNIST, CIFAR10, ImageFolder with torchvision's arguments),
transforms (per sample, on PIL images or (C, H, W) tensors), utils (make_grid, save_image)
and models (ours).
"""

from autograd_cv.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
