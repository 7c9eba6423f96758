"""DataLoader: batches of any map-style dataset, shuffled reproducibly, optionally fetched
by worker processes.

Two ways to fetch a batch: datasets held in arrays give `get_batch(indices)` and a batch is
one vectorised index (then `(images float32, labels int64)` Tensors come back); any other
object with `__getitem__` and `__len__` is read sample by sample and the samples are joined
by `collate_fn` (torch's `default_collate` unless given).
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from autograd_cv.data.collate import default_collate
from autograd_cv.data.transforms import ToFloat
from autograd_cv.tensor import Tensor


def _to_output(images: np.ndarray, labels: np.ndarray) -> tuple[Tensor, Tensor]:
    """The fast path's batch: float32 image and int64 label Tensors.

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


class WorkerInfo(NamedTuple):
    """What `get_worker_info()` tells code running inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its id, the number of workers, its seed, the dataset; else None."""
    return _worker_info


class DataLoader:
    """Iterate over `dataset` in batches, as torch.utils.data.DataLoader.

    With `shuffle=True` each epoch's order is a permutation drawn from `(seed, epoch)`: every
    epoch differs, the whole run is reproducible from `seed` (without one, from the package
    generator that `manual_seed` seeds), and `set_epoch(n)` makes the next iteration use
    epoch `n`'s order (to resume a run). Each iteration starts a new epoch.

    `num_workers > 0` fetches batches in that many worker processes (forked, so the dataset
    need not be picklable); batch i is always fetched by worker i % num_workers, whose random
    generators are seeded from (seed, epoch, worker), and batches come back in order, so a
    run is as reproducible as with `num_workers=0`. `pin_memory` is accepted and does nothing
    on the CPU. `transform` (ours, not torch's) acts on each whole batch of images.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = False,
        seed: int | None = None,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        sampler: Iterable[int] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        generator: np.random.Generator | None = None,
    ) -> None:
        if batch_size is None or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative int, got {seed}")
        if not isinstance(num_workers, int | np.integer) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers must be a non-negative int, got {num_workers!r}"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"DataLoader: the dataset ({type(dataset).__name__}) needs __getitem__ and "
                "__len__ (a map-style dataset)"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.transform = transform
        self.sampler = sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        if seed is None:
            # Drawn from the package generator, so `manual_seed` makes the run reproducible.
            from autograd_cv.creation import generator as package_generator

            source = package_generator() if generator is None else generator
            seed = int(source.integers(2**63))
        self.seed = seed
        self.epoch = 0
        self.batched = hasattr(dataset, "get_batch") and collate_fn is None

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order and augmentations."""
        if epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of `epoch`, in the order they are served."""
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):  # DistributedSampler: this epoch's order
                self.sampler.set_epoch(epoch)
            return np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # Not a generator itself, so the epoch advances when iteration starts, not at 1st batch.
        epoch = self.epoch
        self.epoch += 1
        _set_epoch(getattr(self.dataset, "transform", None), epoch)
        _set_epoch(self.transform, epoch)
        order = self.order(epoch)
        count = (
            len(order) // self.batch_size if self.drop_last else -(-len(order) // self.batch_size)
        )
        batches = [order[i * self.batch_size : (i + 1) * self.batch_size] for i in range(count)]
        if self.num_workers == 0:
            return (self.fetch(indices) for indices in batches)
        seeds = np.random.SeedSequence([self.seed, epoch]).generate_state(
            self.num_workers, np.uint32
        )
        return _in_workers(self, batches, [int(s) for s in seeds])

    def fetch(self, indices: np.ndarray) -> Any:
        """The batch made of the samples at `indices`."""
        if self.batched:
            images, labels = self.dataset.get_batch(indices)
            if self.transform is not None:
                images = self.transform(images)
            return _to_output(images, labels)
        batch = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])
        if self.transform is not None and isinstance(batch, list | tuple) and batch:
            images = self.transform(np.asarray(getattr(batch[0], "data", batch[0])))
            batch = type(batch)([Tensor(images), *batch[1:]])
        return batch

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, num_workers={self.num_workers})"
        )


# ----- worker processes ------------------------------------------------------------------
def _seed_worker(seed: int) -> None:
    from autograd_cv.creation import manual_seed

    manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _worker_loop(loader: DataLoader, worker_id: int, seed: int, tasks: Any, results: Any) -> None:
    """Fetch the batches sent on `tasks` until None arrives; put (i, batch, error) on results."""
    global _worker_info
    _worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    _seed_worker(seed)
    if loader.worker_init_fn is not None:
        loader.worker_init_fn(worker_id)
    while True:
        task = tasks.get()
        if task is None:
            return
        i, indices = task
        try:
            results.put((i, loader.fetch(indices), None))
        except Exception:  # noqa: BLE001 - sent to the main process, which raises it
            results.put((i, None, traceback.format_exc()))


def _in_workers(loader: DataLoader, batches: list[np.ndarray], seeds: list[int]) -> Iterator[Any]:
    """Batch i by worker i % n, at most prefetch_factor * n in flight, yielded in order."""
    context = multiprocessing.get_context("fork")
    n = loader.num_workers
    results = context.Queue()
    task_queues = [context.Queue() for _ in range(n)]
    workers = [
        context.Process(
            target=_worker_loop,
            args=(loader, k, seeds[k], task_queues[k], results),
            daemon=True,
            name=f"DataLoader worker {k}",
        )
        for k in range(n)
    ]
    for worker in workers:
        worker.start()
    sent, ready = 0, {}
    try:
        for want in range(len(batches)):
            while sent < len(batches) and sent < want + loader.prefetch_factor * n:
                task_queues[sent % n].put((sent, batches[sent]))
                sent += 1
            while want not in ready:
                try:
                    i, batch, error = results.get(timeout=loader.timeout or 5.0)
                except queue.Empty:
                    dead = [w.name for w in workers if not w.is_alive()]
                    if dead or loader.timeout:
                        why = f"{', '.join(dead)} exited" if dead else "timed out"
                        raise RuntimeError(
                            f"DataLoader: {why} while fetching batch {want}"
                        ) from None
                    continue
                if error is not None:
                    raise RuntimeError(f"DataLoader: worker {i % n} failed on batch {i}:\n{error}")
                ready[i] = batch
            yield ready.pop(want)
    finally:
        for tasks in task_queues:
            tasks.put(None)
        for worker in workers:
            worker.join(timeout=1.0)
            if worker.is_alive():
                worker.terminate()
