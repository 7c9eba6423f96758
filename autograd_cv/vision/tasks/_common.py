"""What the task loops share: shuffled batches, a seeded start, Adam with cosine decay, a log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

import autograd_cv as ag
from autograd_cv import optim
from autograd_cv.memory import retain_freed_memory
from autograd_cv.nn.module import Module

Log = Callable[[str], None]
#: (the batch's indices, the data-order rng) -> the named loss terms whose sum is minimised
LossTerms = Callable[[np.ndarray, np.random.Generator], dict[str, ag.Tensor]]


def batches(count: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches over range(count), shuffled when `rng` is given."""
    order = rng.permutation(count) if rng is not None else np.arange(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def outputs(
    model: Module,
    images: np.ndarray,
    batch_size: int,
    each: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The model's outputs for all images, in batches, in eval mode without a graph; `each`
    (e.g. an argmax) is applied to every batch's outputs before they are joined."""
    model.eval()
    parts = []
    with ag.no_grad():
        for index in batches(len(images), batch_size, None):
            out = model(ag.tensor(images[index])).numpy()
            parts.append(out if each is None else each(out))
    return np.concatenate(parts)


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


def fit(
    model: Module,
    count: int,
    loss_terms: LossTerms,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    log: Log | None = print,
) -> list[dict]:
    """Adam over shuffled batches of range(count), the learning rate cosine-decayed per step.

    `loss_terms(index, rng)` gives the batch's named losses; their sum is minimised and
    each one's epoch mean is logged and returned, one record per epoch."""
    rng = start(seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-count // batch_size)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    record = EpochLog(log)
    model.train()
    for epoch in range(1, epochs + 1):
        sums: dict[str, float] = {}
        batches_seen = 0
        for index in batches(count, batch_size, rng):
            terms = loss_terms(index, rng)
            loss = sum(terms.values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            batches_seen += 1
        record.epoch(epoch, **{name: total / batches_seen for name, total in sums.items()})
    return record.history
