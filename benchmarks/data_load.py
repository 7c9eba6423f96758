"""How fast the data layer loads and batches, against a per-sample reference in the same run.

    PYTHONPATH=. python benchmarks/data_load.py [path/to/shared/data]

Prints: one epoch of DataLoader over MNISTMini (vectorised get_batch) against the same epoch
built sample by sample (the generic Dataset fallback), with and without augmentation; and,
when the real data folder is present, MNIST load time and CIFAR-10 first/second load times
(the first into a fresh temporary cache).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from autograd_cv.data import (
    CIFAR10,
    MNIST,
    ArrayDataset,
    Compose,
    DataLoader,
    Dataset,
    MNISTMini,
    RandomCrop,
    RandomHorizontalFlip,
)

DEFAULT_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


class PerSample(Dataset):
    """The same data, but only `__getitem__`: DataLoader stacks samples one by one."""

    def __init__(self, dataset: ArrayDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index]


def seconds(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def epoch(loader: DataLoader) -> None:
    for _ in loader:
        pass


def main(shared: Path) -> None:
    augment = Compose([RandomCrop(28, padding=2, seed=0), RandomHorizontalFlip(seed=0)])
    for name, transform in (("plain", None), ("crop+flip", augment)):
        mini = MNISTMini(transform=transform)
        fast = seconds(lambda m=mini: epoch(DataLoader(m, 128, shuffle=True, seed=0)))
        slow = seconds(lambda m=mini: epoch(DataLoader(PerSample(m), 128, shuffle=True, seed=0)))
        print(
            f"MNISTMini epoch ({name}, 10,000 images, batch 128): {fast * 1e3:.0f} ms "
            f"vs per-sample {slow * 1e3:.0f} ms  ({slow / fast:.1f}x faster)"
        )
    if not (shared / "mnist").is_dir():
        print(f"no real data in {shared}; skipping MNIST and CIFAR-10 load times")
        return
    print(f"MNIST train load: {seconds(lambda: MNIST(shared, download=False)):.2f} s")
    if (shared / "cifar-10").is_dir():
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XDG_CACHE_HOME"] = cache  # a fresh cache: the first load decodes
            first = seconds(lambda: CIFAR10(shared, train=True), repeat=1)
            second = seconds(lambda: CIFAR10(shared, train=True))
        print(f"CIFAR-10 train load: first {first:.1f} s (decode), second {second:.2f} s (cache)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SHARED)
