"""One training step (forward, cross-entropy, backward, SGD-momentum step), float32.

LeNet-5 at batch 64 (1x28x28), MLP 784-256-256-10 at batch 128, AlexNetSmall with the paper's
LRN and with BatchNorm at batch 128 (3x32x32). Prints ms/step for autograd_cv and, when PyTorch
is available (see benchmarks/_harness.py), for the same architecture in PyTorch eager, each in a
process of its own over alternating rounds, and the ratio of the medians.

    python benchmarks/train_step.py [--only lenet5,mlp] [--rounds 3] [--profile lenet5]

Our worker keeps freed memory for reuse, as `autograd-cv train` does. `--profile NAME` runs
cProfile over 20 of our steps of that model instead and prints where the time goes.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections.abc import Callable

import _harness
import numpy as np
from _twins import torch_model

# name: (input shape without batch, batch size, timed steps per round)
SETTINGS = {
    "lenet5": ((1, 28, 28), 64, 30),
    "mlp": ((1, 28, 28), 128, 50),
    "alexnet_small": ((3, 32, 32), 128, 3),
    "alexnet_small_bn": ((3, 32, 32), 128, 3),
}


def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
    shape, size, _ = SETTINGS[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(size, *shape)).astype(np.float32)
    return x, rng.integers(0, 10, size=size)


def ours_step(name: str) -> Callable[[], None]:
    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv import models, optim
    from autograd_cv.memory import retain_freed_memory

    retain_freed_memory()
    ag.manual_seed(0)
    if name == "lenet5":
        model = models.LeNet5()
    elif name == "mlp":
        model = models.MLP([784, 256, 256, 10])
    else:
        model = models.AlexNetSmall(batch_norm=name.endswith("_bn"))
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = batch(name)
    inputs = ag.tensor(x)

    def step() -> None:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), y)
        loss.backward()
        optimizer.step()

    return step


def torch_step(name: str) -> Callable[[], None]:
    import torch

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


def build(framework: str, name: str) -> dict[str, Callable[[], None]]:
    return {"step": ours_step(name) if framework == "ours" else torch_step(name)}


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
    parser = _harness.parser(__doc__.splitlines()[0], list(SETTINGS), repeats=0, rounds=3)
    parser.add_argument("--profile", default=None, help="profile this model's step instead")
    args = parser.parse_args()
    if args.serve:
        _harness.serve(build, args.serve, args.cases, "step", args.repeats, args.threads)
        return
    if args.profile:
        profile(args.profile)
        return
    case_repeats = {name: setting[2] for name, setting in SETTINGS.items()}
    results = _harness.run(sys.argv[0], build, args, case_repeats)
    if results is None:
        return
    print("\nms per training step (batch: lenet5 64, mlp 128, alexnet_small* 128)")
    _harness.print_table(results, args.only.split(","), "step")
    _harness.print_interleaved(sys.argv[0], args, args.only.split(","), "step")


if __name__ == "__main__":
    main()
