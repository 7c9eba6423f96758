"""A linear multi-class SVM trained with the hinge loss through the autograd engine."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.autograd.grad_mode import no_grad
from autograd_cv.nn.linear import Linear
from autograd_cv.nn.module import Module
from autograd_cv.optim.sgd import SGD
from autograd_cv.tensor import Tensor, tensor


class LinearSVM(Module):
    """scores = x W^T + b; loss = multi_margin_loss(scores, y) + reg * ||W||^2."""

    def __init__(self, num_features: int, num_classes: int, reg: float = 1e-4) -> None:
        super().__init__()
        self.linear = Linear(num_features, num_classes)
        self.reg = reg

    def forward(self, x: Any) -> Tensor:
        """Class scores (N, classes) of flattened inputs."""
        x = x if isinstance(x, Tensor) else tensor(np.asarray(x, dtype=self.linear.weight.dtype))
        return self.linear(x.reshape(x.shape[0], -1))

    def loss(self, x: Any, y: Any) -> Tensor:
        """Mean hinge loss plus the L2 penalty on the weights (not the bias)."""
        weight = self.linear.weight
        return F.multi_margin_loss(self(x), y) + self.reg * (weight * weight).sum()

    def fit(self, x: Any, y: Any, epochs: int = 10, batch_size: int = 64, lr: float = 0.01,
            momentum: float = 0.9, seed: int = 0) -> list[float]:  # fmt: skip
        """Minibatch SGD; returns the mean loss of each epoch."""
        x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=self.linear.weight.dtype)
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
        if len(x) != len(y):
            raise ValueError(f"LinearSVM.fit: {len(x)} inputs but {len(y)} labels")
        optimizer = SGD(self.parameters(), lr=lr, momentum=momentum)
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(epochs):
            order, total = rng.permutation(len(x)), 0.0
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                loss = self.loss(x[batch], y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.data) * len(batch)
            history.append(total / len(x))
        return history

    def predict(self, x: Any) -> np.ndarray:
        """The highest-scoring class per example."""
        with no_grad():
            return self(x).data.argmax(axis=1)

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on (x, y)."""
        return float((self.predict(x) == np.asarray(y)).mean())
