"""k-nearest-neighbour classification with one GEMM per chunk of queries."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor


def _rows(x: Any) -> np.ndarray:
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    return array.reshape(len(array), -1).astype(np.float64)


class NearestNeighbor:
    """kNN on flattened inputs under squared Euclidean distance; ties go to the nearer class."""

    def __init__(self, k: int = 1, chunk_size: int = 512) -> None:
        if k < 1 or chunk_size < 1:
            raise ValueError(
                f"NearestNeighbor: k and chunk_size must be >= 1, got {k}, {chunk_size}"
            )
        self.k, self.chunk_size = k, chunk_size

    def fit(self, x: Any, y: Any) -> NearestNeighbor:
        """Remember the training set (it is the model)."""
        self.x = _rows(x)
        labels = np.asarray(y.data if isinstance(y, Tensor) else y)
        if labels.shape != (len(self.x),):
            raise ValueError(
                f"NearestNeighbor.fit: y must have shape ({len(self.x)},), got {labels.shape}"
            )
        if self.k > len(self.x):
            raise ValueError(
                f"NearestNeighbor: k={self.k} exceeds the {len(self.x)} training examples"
            )
        self.classes, self.codes = np.unique(labels, return_inverse=True)
        self.squared_norms = (self.x * self.x).sum(axis=1)
        return self

    def distances(self, x: Any) -> np.ndarray:
        """Squared distances (M, N) to every training example (for small M only)."""
        return np.concatenate([d for d in self._chunks(_rows(x))])

    def _chunks(self, queries: np.ndarray):
        if queries.shape[1] != self.x.shape[1]:
            raise ValueError(
                f"NearestNeighbor: queries have {queries.shape[1]} features, training data "
                f"{self.x.shape[1]}"
            )
        for start in range(0, len(queries), self.chunk_size):
            chunk = queries[start : start + self.chunk_size]
            # ||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2: one GEMM, memory chunk x N.
            squared = (chunk * chunk).sum(axis=1, keepdims=True) - 2 * chunk @ self.x.T
            yield np.maximum(squared + self.squared_norms, 0)

    def kneighbors(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Squared distances and indices (M, k) of the k nearest training points, nearest first."""
        found_d, found_i = [], []
        for dist in self._chunks(_rows(x)):
            rows = np.arange(len(dist))[:, None]
            # Equal distances go to the lower training index (as a stable sort would):
            # everything below the k-th distance, then the first of those equal to it.
            if self.k < dist.shape[1]:
                kth = np.partition(dist, self.k - 1, axis=1)[:, self.k - 1 : self.k]
                below, equal = dist < kth, dist == kth
                need = self.k - below.sum(axis=1, keepdims=True)
                chosen = below | (equal & (np.cumsum(equal, axis=1) <= need))
                part = np.nonzero(chosen)[1].reshape(len(dist), self.k)
            else:
                part = np.broadcast_to(np.arange(dist.shape[1]), dist.shape).copy()
            order = np.argsort(dist[rows, part], axis=1, kind="stable")
            index = part[rows, order]
            found_d.append(dist[rows, index])
            found_i.append(index)
        return np.concatenate(found_d), np.concatenate(found_i)

    def predict(self, x: Any) -> np.ndarray:
        """Majority label of the k nearest; a tie goes to the class of the nearer neighbour."""
        _, index = self.kneighbors(x)
        codes = self.codes[index]  # (M, k), nearest first
        count, classes = len(codes), len(self.classes)
        votes = np.zeros((count, classes), dtype=np.int64)
        np.add.at(votes, (np.arange(count)[:, None], codes), 1)
        first = np.full((count, classes), self.k, dtype=np.int64)
        ranks = np.broadcast_to(np.arange(self.k), codes.shape)
        np.minimum.at(first, (np.arange(count)[:, None], codes), ranks)
        best = (votes * (self.k + 1) - first).argmax(axis=1)
        return self.classes[best]

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on (x, y)."""
        return float((self.predict(x) == np.asarray(y)).mean())
