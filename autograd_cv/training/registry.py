"""The one list of models and datasets that train, eval, demo and graph all read.

A model is built for a dataset's image shape and class count; a model tied to one image
size (AlexNet's) says so here, so every command refuses the same bad pairs the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import nn
from autograd_cv.data import (
    CIFAR10,
    MNIST,
    Compose,
    FashionMNIST,
    MNISTMini,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
)
from autograd_cv.models import MLP, AlexNet, AlexNetSmall, LeNet5, Perceptron
from autograd_cv.training.errors import UsageError
from autograd_cv.training.tasks import TASK_DATASETS, TASKS, TaskModel, check_task_pair, models_for


# ----- datasets -------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetInfo:
    """How to load one dataset and what its images look like."""

    load: Callable[[str | None, bool], Any]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    augment: bool = False


_DIGITS = tuple(str(d) for d in range(10))
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        lambda root, train: MNIST(root, train=train), (1, 28, 28), (0.1307,), (0.3081,), _DIGITS
    ),
    "mnist-mini": DatasetInfo(
        lambda root, train: MNISTMini(train=train), (1, 28, 28), (0.1307,), (0.3081,), _DIGITS
    ),
    "fashion-mnist": DatasetInfo(
        lambda root, train: FashionMNIST(root, train=train),
        (1, 28, 28),
        (0.2860,),
        (0.3530,),
        tuple(FashionMNIST.classes),
    ),  # fmt: skip
    "cifar10": DatasetInfo(
        lambda root, train: CIFAR10(root, train=train),
        (3, 32, 32),
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        augment=True,
    ),  # fmt: skip
}


def dataset_info(name: str) -> DatasetInfo:
    """The named dataset's entry, or a usage error listing the choices."""
    if name not in DATASETS:
        if name in TASK_DATASETS:
            raise UsageError(f"{name} is for the task models {', '.join(models_for(name))}, not "
                             f"for classifiers ({', '.join(DATASETS)})")  # fmt: skip
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)} "
                         f"(classifiers) or {', '.join(TASK_DATASETS)} (task models)")  # fmt: skip
    return DATASETS[name]


def transforms(name: str, train: bool) -> Compose:
    """Float conversion and normalisation; random crops and flips for CIFAR-10 training."""
    info = DATASETS[name]
    steps = [ToFloat()]
    if train and info.augment:
        steps += [RandomCrop(info.image_shape[1], padding=4), RandomHorizontalFlip()]
    steps.append(Normalize(info.mean, info.std))
    return Compose(steps)


# ----- models ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInfo:
    """How to build one model for images of a given shape, and what it takes as input."""

    build: Callable[[tuple[int, int, int], int], nn.Module]
    #: the images it is drawn on by `autograd-cv graph`, and the only ones it takes if `fixed`
    image_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    fixed: bool = False
    #: takes flat vectors (the perceptron), not images
    flat: bool = False
    #: which dataset `fixed` models are meant for, for the error message
    needs: str = ""


def _pixels(shape: tuple[int, int, int]) -> int:
    return shape[0] * shape[1] * shape[2]


MODELS: dict[str, ModelInfo] = {
    "perceptron": ModelInfo(lambda shape, k: Perceptron(_pixels(shape), k), flat=True),
    "mlp": ModelInfo(lambda shape, k: MLP([_pixels(shape), 256, 256, k])),
    "lenet5": ModelInfo(
        lambda shape, k: LeNet5(in_channels=shape[0], num_classes=k, input_size=shape[1])
    ),
    "alexnet-small": ModelInfo(
        lambda shape, k: AlexNetSmall(num_classes=k), (3, 32, 32), fixed=True, needs="cifar10"
    ),
    "alexnet-small-bn": ModelInfo(
        lambda shape, k: AlexNetSmall(num_classes=k, batch_norm=True),
        (3, 32, 32),
        fixed=True,
        needs="cifar10",
    ),
    "alexnet": ModelInfo(
        lambda shape, k: AlexNet(num_classes=k), (3, 224, 224), 1000, fixed=True, needs="ImageNet"
    ),
}


def model_info(name: str) -> ModelInfo:
    """The named model's entry, or a usage error listing the choices."""
    if name not in MODELS:
        if name in TASKS:
            raise UsageError(f"{name} is a {TASKS[name].task} model, not a classifier")
        raise UsageError(f"unknown model {name!r}; choose from {', '.join([*MODELS, *TASKS])}")
    return MODELS[name]


def check_pair(model: str, dataset: str) -> DatasetInfo | TaskModel:
    """Refuse a model that cannot take the dataset's images; return the dataset's entry
    (for a task model, the model's entry in `tasks.TASKS`)."""
    if model in TASKS:
        return check_task_pair(model, dataset)
    model_info(model)
    if dataset in TASK_DATASETS and dataset not in DATASETS:  # a task may use "mnist" too
        raise UsageError(f"{model} is a classifier; {dataset} is for the task models "
                         f"{', '.join(models_for(dataset))}")  # fmt: skip
    info = dataset_info(dataset)
    _check_shape(model, info.image_shape)
    return info


def _check_shape(name: str, image_shape: tuple[int, int, int]) -> ModelInfo:
    spec = model_info(name)
    if spec.fixed and tuple(image_shape) != spec.image_shape:
        shape = "x".join(map(str, spec.image_shape))
        raise UsageError(f"{name} needs {shape} images ({spec.needs}), not {image_shape}")
    return spec


def build_model(name: str, image_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """One of the registry's models, sized for the dataset's images."""
    return _check_shape(name, image_shape).build(tuple(image_shape), num_classes)


def _unwrapped(model: nn.Module) -> nn.Module:
    """The model inside a `DistributedDataParallel` wrapper, or the model itself."""
    from autograd_cv.distributed import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str) -> str:
    """`--device`: "auto" is the GPU where one is usable, else the CPU; "cuda" without a
    usable GPU is a usage error saying why."""
    if name not in DEVICES:
        raise UsageError(f"unknown device {name!r}; choose {', '.join(DEVICES)}")
    if name == "cpu":
        return "cpu"
    if ag.cuda.is_available():
        return "cuda"
    if name == "auto":
        return "cpu"
    raise UsageError(f"--device cuda: {ag.cuda.why_unavailable()}")


def model_device(model: nn.Module) -> ag.device:
    """Where the model's parameters live (the CPU for a model without any)."""
    for parameter in model.parameters():
        return parameter.device
    return ag.device("cpu")


def forward(model: nn.Module, images: ag.Tensor) -> ag.Tensor:
    """Class scores, the images moved to the model's device first; the perceptron takes flat
    vectors."""
    images = images.to(model_device(model))
    if isinstance(_unwrapped(model), Perceptron):
        images = images.reshape(images.shape[0], -1)
    return model(images)


def loss_fn(model: nn.Module, scores: ag.Tensor, labels: ag.Tensor) -> ag.Tensor:
    """Cross-entropy, or the hinge loss for the perceptron (labels moved to the scores)."""
    labels = labels.to(scores.device)
    if isinstance(_unwrapped(model), Perceptron):
        return F.multi_margin_loss(scores, labels)
    return F.cross_entropy(scores, labels)
