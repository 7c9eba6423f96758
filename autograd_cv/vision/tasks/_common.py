"""What the task loops share: shuffled batches, a seeded start, a log line per epoch."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

import autograd_cv as ag
from autograd_cv.memory import retain_freed_memory

Log = Callable[[str], None]


def batches(count: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches over range(count), shuffled when `rng` is given."""
    order = rng.permutation(count) if rng is not None else np.arange(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def start(seed: int) -> np.random.Generator:
    """Seed autograd_cv's generator, turn on freed-memory reuse, return a data-order rng."""
    ag.manual_seed(seed)
    retain_freed_memory()
    return np.random.default_rng(seed)


class EpochLog:
    """Collects per-epoch means and prints one line per epoch."""

    def __init__(self, log: Log | None) -> None:
        self.log, self.history, self.began = log, [], time.perf_counter()

    def epoch(self, epoch: int, **values: float) -> None:
        record = {"epoch": epoch, **values, "seconds": time.perf_counter() - self.began}
        self.history.append(record)
        if self.log is not None:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
            self.log(f"epoch {epoch}: {shown} ({record['seconds']:.0f} s)")
