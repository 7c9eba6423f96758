"""What `autograd-cv train` was asked to do, checked once, and the optimizer it implies."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields

from autograd_cv import nn, optim
from autograd_cv.training.errors import UsageError
from autograd_cv.training.registry import DatasetInfo, check_pair
from autograd_cv.training.tasks import TASKS, TaskModel, resolve
from autograd_cv.training.tensorboard import check_available

DEFAULT_LR = {"sgd": 0.02, "adam": 1e-3}
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")
#: what a classifier's run uses where its config says None (a task model uses its recipe's)
CLASSIFIER_DEFAULTS = {"epochs": 3, "batch_size": 64, "optimizer": "sgd", "schedule": "constant"}


@dataclass
class TrainConfig:
    """What `autograd-cv train` was asked to do."""

    model: str = "lenet5"
    dataset: str = "mnist-mini"
    data_dir: str | None = None
    #: None: 3 for a classifier, the task's recipe for a task model (as for batch_size and lr)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    #: None: sgd for a classifier; task models train with Adam only
    optimizer: str | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    #: "cosine": the learning rate falls from lr to 0 over the epochs (per epoch, closed form);
    #: None: constant for a classifier (task models decay it by cosine per step)
    schedule: str | None = None
    seed: int = 0
    out: str = "runs/latest"
    resume: str | None = None
    #: overwrite a model.npz already in `out` (without it, only --resume may continue one)
    force: bool = False
    graph: bool = True
    progress: bool = True
    #: stop (as if interrupted) after this many optimizer steps; for tests and notebooks
    stop_after_steps: int | None = None
    #: fit BLAS/Numba threads to the cores other processes leave free (autograd_cv.threads)
    adapt_threads: bool = True
    #: also write TensorBoard event files here (needs tensorboardX)
    tensorboard: str | None = None
    #: "auto" (the GPU where one is usable), "cpu" or "cuda"
    device: str = "auto"
    #: how many training / test items a task model uses (None: its recipe's; classifiers: all)
    train_size: int | None = None
    test_size: int | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model not in TASKS:
            for name, value in CLASSIFIER_DEFAULTS.items():
                if getattr(self, name) is None:
                    setattr(self, name, value)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """The config from parsed arguments: every field the parser defines, by name."""
        given = vars(args)
        return cls(**{f.name: given[f.name] for f in fields(cls) if f.name in given})

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def validate(self) -> DatasetInfo | TaskModel:
        """Refuse what cannot run, before anything is loaded or written; the dataset's entry
        (a task model's own entry for a task model)."""
        info = check_pair(self.model, self.dataset)
        if self.model in TASKS:
            resolve(self)
            return info
        if self.train_size is not None or self.test_size is not None:
            raise UsageError(f"--train-size and --test-size are for the task models "
                             f"({', '.join(TASKS)}); {self.model} uses all of "
                             f"{self.dataset}")  # fmt: skip
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError("--epochs and --batch-size must be at least 1")
        if self.seed < 0:
            raise UsageError(f"--seed must be 0 or more, not {self.seed}")
        numbers = {"--lr": self.lr, "--momentum": self.momentum,
                   "--weight-decay": self.weight_decay}  # fmt: skip
        for option, value in numbers.items():
            if value is not None and not math.isfinite(value):
                raise UsageError(f"{option} must be a finite number, not {value}")
        if self.lr is not None and self.lr <= 0:
            raise UsageError(f"--lr must be greater than 0, not {self.lr}")
        if self.momentum < 0 or self.weight_decay < 0:
            option = "--momentum" if self.momentum < 0 else "--weight-decay"
            raise UsageError(f"{option} must be 0 or more, not {numbers[option]}")
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer {self.optimizer!r}; choose sgd or adam")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}; choose constant or cosine")
        if self.tensorboard is not None:
            check_available()
        return info


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    """SGD with momentum or Adam, as configured."""
    if config.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=config.learning_rate(), momentum=config.momentum,
                         weight_decay=config.weight_decay)  # fmt: skip
    if config.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=config.learning_rate(),
                          weight_decay=config.weight_decay)  # fmt: skip
    raise UsageError(f"unknown optimizer {config.optimizer!r}; choose sgd or adam")


def set_learning_rate(optimizer: optim.Optimizer, config: TrainConfig, epoch: int) -> float:
    """The epoch's learning rate, from the epoch alone, so a resumed run gets the same one."""
    lr = config.learning_rate()
    if config.schedule == "cosine":
        lr = lr * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))
    elif config.schedule != "constant":
        raise UsageError(f"unknown schedule {config.schedule!r}; choose constant or cosine")
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
