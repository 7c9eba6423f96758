"""Datasets: indexable collections of samples, and torch.utils.data's helpers around them."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor

# Any callable on a batch (N, C, H, W): the classes in transforms.py, or a plain function.
BatchTransform = Callable[[np.ndarray], np.ndarray]


class Dataset:
    """Base class: subclasses give `__len__` and `__getitem__(index) -> sample`, as torch's.

    Any object with those two methods works with DataLoader; datasets held in arrays also
    give `get_batch(indices) -> (images, labels)`, which DataLoader uses to fetch a whole
    batch with one vectorised index.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of each of the given tensors (or arrays) of equal length."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)
        lengths = [len(t) for t in self.tensors]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise ValueError(f"TensorDataset: the tensors differ in length: shapes {shapes}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor(t.data[index]) for t in self.tensors)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Any, lengths: Sequence[float], generator: np.random.Generator | None = None
) -> list[Subset]:
    """Split into non-overlapping random Subsets of the given lengths (or fractions summing
    to 1, as torch); the package generator (`manual_seed`) draws unless one is given."""
    from autograd_cv.creation import generator as package_generator

    n = len(dataset)
    if all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-6 and sum(lengths) != n:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # the remainder, one each, round-robin (as torch)
            counts[i % len(counts)] += 1
    else:
        counts = [int(length) for length in lengths]
    if sum(counts) != n:
        raise ValueError(
            f"random_split: the lengths {list(lengths)} sum to {sum(counts)}, "
            f"but the dataset has {n} samples"
        )
    rng = package_generator() if generator is None else generator
    order = rng.permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])]


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
