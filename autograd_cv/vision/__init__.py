"""torchvision's layout: `import autograd_cv.vision as torchvision`.

datasets (MNIST, FashionMNIST, CIFAR10, ImageFolder with torchvision's arguments, and the
scene datasets DigitScenes and DigitPoses), transforms (per sample, on PIL images or
(C, H, W) tensors), utils (make_grid, save_image), models (ours) and ops (box_iou, nms,
batched_nms, roi_align, roi_pool, box_convert). `vision.tasks` has the training loops and
metrics of segmentation, detection and pose regression.
"""

from autograd_cv.vision import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
