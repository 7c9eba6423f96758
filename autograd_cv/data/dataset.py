"""Datasets: indexable collections of (image, label) samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# Any callable on a batch (N, C, H, W): the classes in transforms.py, or a plain function.
BatchTransform = Callable[[np.ndarray], np.ndarray]


class Dataset:
    """Base class: subclasses give `__len__` and `__getitem__(index) -> (image, label)`.

    `get_batch` fetches many samples at once. This fallback stacks `__getitem__` results one
    by one; datasets held in arrays override it with a single vectorised index.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Images stacked along a new first axis, and their labels as int64."""
        samples = [self[int(i)] for i in indices]
        images = np.stack([np.asarray(image) for image, _ in samples])
        labels = np.asarray([label for _, label in samples], dtype=np.int64)
        return images, labels


class ArrayDataset(Dataset):
    """Images (N, C, H, W) and labels (N,) held in memory.

    `transform` acts on whole batches (N, C, H, W); a single sample is passed as a batch of one.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | Sequence[int],
        transform: BatchTransform | None = None,
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must be (N, C, H, W), got shape {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"ArrayDataset: labels must have shape ({images.shape[0]},) to match images "
                f"{images.shape}, got {labels.shape}"
            )
        if labels.dtype.kind not in "iu":
            raise TypeError(f"ArrayDataset: labels must be integers, got dtype {labels.dtype}")
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        images, labels = self.get_batch(np.asarray([index]))
        return images[0], int(labels[0])

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One fancy index into the arrays (a copy), then the transform on the whole batch."""
        indices = np.asarray(indices, dtype=np.intp)
        images = np.take(self.images, indices, axis=0)
        labels = np.take(self.labels, indices, axis=0)
        if self.transform is not None:
            images = self.transform(images)
        return images, labels

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self)} images of shape {self.images.shape[1:]}, "
            f"dtype {self.images.dtype})"
        )
