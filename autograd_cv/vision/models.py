"""The models of `autograd_cv.models`, under torchvision's `models` namespace (none are
downloaded: there are no pretrained weights)."""

from autograd_cv.models import MLP, AlexNet, AlexNetSmall, LeNet5, Perceptron

__all__ = ["MLP", "AlexNet", "AlexNetSmall", "LeNet5", "Perceptron"]
