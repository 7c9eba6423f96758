"""Rosenblatt's perceptron: a linear classifier with sign (binary) or argmax (multi-class) output.

Train it either way:

- the classic mistake-driven rule (`perceptron_step`, `fit_perceptron`): on a mistake,
  w += lr * y * x (binary, labels +-1), or w[y] += lr * x, w[pred] -= lr * x (multi-class);
- gradient descent on the hinge loss (`hinge_loss`, any optimizer): `forward` returns the
  raw scores, which the loss needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.nn.linear import Linear
from autograd_cv.nn.module import Module
from autograd_cv.ops import maximum
from autograd_cv.tensor import Tensor


def _raw(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class Perceptron(Module):
    """w.x + b scores; `predict` gives sign (+-1) for 2 classes, the argmax index otherwise.

    With num_classes=2 there is one weight vector (`linear.weight` of shape (1, in)) and
    labels are +1/-1 (0/1 are accepted and mapped to -1/+1).
    """

    def __init__(self, in_features: int, num_classes: int = 2) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"Perceptron: num_classes must be at least 2, got {num_classes}")
        self.in_features = int(in_features)
        self.num_classes = int(num_classes)
        self.binary = num_classes == 2
        self.linear = Linear(in_features, 1 if self.binary else num_classes)

    def forward(self, input: Tensor) -> Tensor:
        """Scores: shape (N,) for two classes, (N, num_classes) otherwise."""
        scores = self.linear(input)
        return scores.reshape(scores.shape[0]) if self.binary else scores

    def _scores(self, x: np.ndarray) -> np.ndarray:
        return x @ self.linear.weight.data.T + self.linear.bias.data

    def predict(self, input: Any) -> np.ndarray:
        """+1/-1 labels (binary; a score of exactly 0 counts as +1) or class indices."""
        scores = self._scores(_raw(input).reshape(len(_raw(input)), -1))
        if self.binary:
            return np.where(scores[:, 0] >= 0, 1, -1)
        return scores.argmax(axis=1)

    def _signed_labels(self, y: np.ndarray) -> np.ndarray:
        values = set(np.unique(y).tolist())
        if values <= {-1, 1}:
            return y.astype(np.int64)
        if values <= {0, 1}:
            return np.where(y > 0, 1, -1)
        raise ValueError(f"Perceptron: binary labels must be +1/-1 or 0/1, got values {values}")

    def perceptron_step(self, x: Any, y: Any, lr: float = 1.0) -> int:
        """One mistake-driven update on a sample or a batch; returns the number of mistakes.

        On a batch every misclassified sample contributes at once (the batch perceptron);
        `fit_perceptron` applies the rule one sample at a time, as Rosenblatt did.
        """
        x = _raw(x).reshape(-1, self.in_features)
        y = np.atleast_1d(_raw(y))
        weight, bias = self.linear.weight.data, self.linear.bias.data
        scores = self._scores(x)
        if self.binary:
            y = self._signed_labels(y)
            # A point on the boundary (score 0) counts as a mistake.
            wrong = y * scores[:, 0] <= 0
            if wrong.any():
                step = (lr * y[wrong]).astype(weight.dtype)
                weight[0] += step @ x[wrong]
                bias[0] += step.sum()
        else:
            predicted = scores.argmax(axis=1)
            wrong = predicted != y
            if wrong.any():
                rows = x[wrong] * weight.dtype.type(lr)
                np.add.at(weight, y[wrong], rows)
                np.subtract.at(weight, predicted[wrong], rows)
                np.add.at(bias, y[wrong], lr)
                np.subtract.at(bias, predicted[wrong], lr)
        self.linear.weight.bump_version()
        self.linear.bias.bump_version()
        return int(wrong.sum())

    def fit_perceptron(
        self,
        x: Any,
        y: Any,
        epochs: int = 10,
        lr: float = 1.0,
        shuffle: bool = True,
        seed: int | None = 0,
    ) -> list[int]:
        """The classic online rule, one sample at a time; stops after an epoch with no mistake.

        Returns the number of mistakes in each epoch (the loop over samples is the
        algorithm itself: each update changes the next prediction).
        """
        x = _raw(x).reshape(-1, self.in_features)
        y = _raw(y)
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            mistakes = sum(self.perceptron_step(x[i], y[i : i + 1], lr) for i in order)
            history.append(mistakes)
            if mistakes == 0:
                break
        return history

    def hinge_loss(self, scores: Tensor, target: Any, margin: float = 1.0) -> Tensor:
        """Mean hinge loss of `forward`'s scores: max(0, margin - y*s) or multi_margin_loss."""
        if self.binary:
            signed = Tensor(self._signed_labels(_raw(target)).astype(scores.dtype))
            return maximum(margin - signed * scores, 0.0).mean()
        return F.multi_margin_loss(scores, target, margin=margin)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}"
