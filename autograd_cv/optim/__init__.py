"""Optimizers and learning-rate schedules with torch.optim's update rules."""

from autograd_cv.optim import lr_scheduler
from autograd_cv.optim.adam import Adam, AdamW
from autograd_cv.optim.adam_variants import NAdam, RAdam
from autograd_cv.optim.adaptive import Adadelta, Adagrad, RMSprop
from autograd_cv.optim.optimizer import Optimizer
from autograd_cv.optim.sgd import SGD

__all__ = [
    "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "NAdam", "Optimizer", "RAdam", "RMSprop",
    "lr_scheduler",
]  # fmt: skip
