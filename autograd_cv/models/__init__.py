"""Classic models, built from `autograd_cv.nn` (nothing is downloaded)."""

from autograd_cv.models import transfer
from autograd_cv.models.alexnet import AlexNet, AlexNetSmall
from autograd_cv.models.generator import UpConvGenerator
from autograd_cv.models.lenet import LeNet5
from autograd_cv.models.mlp import MLP
from autograd_cv.models.perceptron import Perceptron
from autograd_cv.models.siamese import SiameseNet
from autograd_cv.models.transfer import freeze, load_backbone, replace_classifier, unfreeze

__all__ = [
    "MLP", "AlexNet", "AlexNetSmall", "LeNet5", "Perceptron", "SiameseNet", "UpConvGenerator",
    "freeze", "load_backbone", "replace_classifier", "transfer", "unfreeze",
]  # fmt: skip
