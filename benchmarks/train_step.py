"""One training step (forward, cross-entropy, backward, SGD-momentum step), float32.

LeNet-5 at batch 64 (1x28x28), MLP 784-256-256-10 at batch 128, AlexNetSmall with the paper's
LRN and with BatchNorm at batch 128 (3x32x32). Prints ms/step for autograd_cv and, when torch
is installed, for the same architecture in PyTorch eager (2 threads unless BENCH_THREADS says
otherwise) and the ratio,
all from the same run. The two are timed in turns (ours, torch, ours, ...), so a machine
that gets busier half-way through skews both figures alike rather than the ratio.

    PYTHONPATH=$PWD python benchmarks/train_step.py [--only lenet5,mlp] [--profile lenet5]

`--profile NAME` runs cProfile over 20 steps of that model and prints where the time goes
(top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable

import numpy as np
from _timing import environment, try_torch
from _twins import torch_model

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, optim
from autograd_cv.memory import retain_freed_memory

# name: (input shape without batch, batch size, repeats)
SETTINGS = {
    "lenet5": ((1, 28, 28), 64, 30),
    "mlp": ((1, 28, 28), 128, 50),
    "alexnet_small": ((3, 32, 32), 128, 3),
    "alexnet_small_bn": ((3, 32, 32), 128, 3),
}


def build_ours(name: str):
    if name == "lenet5":
        return models.LeNet5()
    if name == "mlp":
        return models.MLP([784, 256, 256, 10])
    return models.AlexNetSmall(batch_norm=name.endswith("_bn"))


def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
    shape, size, _ = SETTINGS[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(size, *shape)).astype(np.float32)
    return x, rng.integers(0, 10, size=size)


def ours_step(name: str):
    ag.manual_seed(0)
    model = build_ours(name)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = batch(name)
    inputs = ag.tensor(x)

    def step() -> None:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), y)
        loss.backward()
        optimizer.step()

    return step


def torch_step(torch, name: str):
    torch.manual_seed(0)
    model = torch_model(torch, name)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = batch(name)
    inputs, target = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), target)
        loss.backward()
        optimizer.step()

    return step


def timed_in_turns(steps: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each step, alternating between them after two warm-ups."""
    for step in steps.values():
        step()
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def profile(name: str, steps: int = 20) -> None:
    step = ours_step(name)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    print(f"\ncProfile of {steps} {name} steps (top 25 by own time):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SETTINGS), help="comma-separated models")
    parser.add_argument("--profile", default=None, help="profile this model's step")
    args = parser.parse_args()
    # As `autograd-cv train` does; process-wide, so PyTorch's steps reuse freed pages too.
    retained = retain_freed_memory()
    print(f"{environment()}, freed memory retained: {retained}")
    torch = try_torch()
    for name in args.only.split(","):
        _, size, repeats = SETTINGS[name]
        steps = {"ours": ours_step(name)}
        if torch is not None:
            steps["torch"] = torch_step(torch, name)
        medians = {key: value * 1e3 for key, value in timed_in_turns(steps, repeats).items()}
        line = f"{name:14s} batch {size:4d}: autograd_cv {medians['ours']:9.2f} ms/step"
        if torch is not None:
            line += (
                f" | PyTorch {medians['torch']:9.2f} ms/step"
                f" | ratio {medians['ours'] / medians['torch']:5.2f}x"
            )
        print(line, flush=True)
    if args.profile:
        profile(args.profile)


if __name__ == "__main__":
    main()
