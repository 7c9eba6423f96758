"""Optimizers and learning-rate schedules with torch.optim's update rules."""

from autograd_cv.optim import lr_scheduler
from autograd_cv.optim.adam import Adam, AdamW
from autograd_cv.optim.optimizer import Optimizer
from autograd_cv.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
