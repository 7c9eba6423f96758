"""DataLoader: batches of a dataset, shuffled reproducibly, fetched with one index per batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from autograd_cv.data.dataset import BatchTransform, Dataset
from autograd_cv.data.transforms import ToFloat
from autograd_cv.tensor import Tensor


def _to_output(images: np.ndarray, labels: np.ndarray) -> tuple[Tensor, Tensor]:
    """The one place a batch takes its final form: float32 image and int64 label Tensors.

    Images still in uint8 are scaled to [0, 1] as ToFloat would.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = ToFloat()(images)
    else:
        images = images.astype(np.float32, copy=False)
    return Tensor(images), Tensor(np.asarray(labels).astype(np.int64, copy=False))


def _set_epoch(transform: object, epoch: int) -> None:
    if transform is not None and hasattr(transform, "set_epoch"):
        transform.set_epoch(epoch)


class DataLoader:
    """Iterate over `dataset` in batches of `(images float32 (N, C, H, W), labels int64 (N,))`.

    With `shuffle=True` each epoch's order is a permutation drawn from `(seed, epoch)`: every
    epoch differs, the whole run is reproducible from `seed`, and `set_epoch(n)` makes the
    next iteration use epoch `n`'s order (to resume a run). Each iteration starts a new epoch.
    A `sampler` (a sized iterable of indices, such as `distributed.DistributedSampler`)
    gives the order instead; its `set_epoch` is called with each epoch.
    The epoch also reseeds the random transforms of the loader and of the dataset.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        transform: BatchTransform | None = None,
        sampler: Iterable[int] | None = None,
    ) -> None:
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: give either shuffle=True or a sampler, not both")
        if seed is not None and seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative int, got {seed}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.sampler = sampler
        # Without a seed, draw entropy once so the epochs of one run still differ reproducibly.
        self.seed = np.random.SeedSequence(seed).entropy
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order and augmentations."""
        if epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of `epoch`, in the order they are served."""
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            return np.asarray(list(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # Not a generator itself, so the epoch advances when iteration starts, not at 1st batch.
        epoch = self.epoch
        self.epoch += 1
        _set_epoch(getattr(self.dataset, "transform", None), epoch)
        _set_epoch(self.transform, epoch)
        return self._batches(self.order(epoch))

    def _batches(self, order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            images, labels = self.dataset.get_batch(order[start : start + self.batch_size])
            if self.transform is not None:
                images = self.transform(images)
            yield _to_output(images, labels)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
