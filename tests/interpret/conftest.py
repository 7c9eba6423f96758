"""A tiny CNN trained once per session on an MNISTMini subset, pixels in [0, 1]."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import nn, optim
from autograd_cv.data import MNISTMini


class TinyCNN(nn.Module):
    """Conv-ReLU-pool twice, then one Linear: named `features.*` and `head`."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(1, 8, 5, padding=2),
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),
                conv2=nn.Conv2d(8, 16, 5, padding=2),
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(4),
            )
        )
        self.flatten = nn.Flatten()
        self.head = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x):
        return self.head(self.flatten(self.features(x)))


@pytest.fixture(scope="session")
def mnist_subset():
    """2,000 training and 200 test digits as float32 in [0, 1]."""
    train, test = MNISTMini(train=True), MNISTMini(train=False)
    x_train = train.images[:2000].astype(np.float32) / 255
    x_test = test.images[:200].astype(np.float32) / 255
    return x_train, train.labels[:2000], x_test, test.labels[:200]


@pytest.fixture(scope="session")
def trained(mnist_subset):
    """(model, test images, test labels) after 300 SGD steps; about 95% test accuracy."""
    x_train, y_train, x_test, y_test = mnist_subset
    ag.manual_seed(0)
    model = TinyCNN()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(300):
        batch = rng.integers(0, len(x_train), 64)
        loss = F.cross_entropy(model(ag.tensor(x_train[batch])), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model, x_test, y_test
