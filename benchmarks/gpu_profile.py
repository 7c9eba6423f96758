"""Where a training step's time goes on the GPU: per-op times (viz.profile, which
synchronizes around each op), and how much of a step the host spends queueing work.

    PYTHONPATH=$PWD python benchmarks/gpu_profile.py [--top 12]

"queue" is the host time of a step with no synchronization inside it; "step" adds the wait
for the GPU at the end. When the two are close, the step is bound by launching work from
Python, not by the GPU's arithmetic.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, optim, viz

CASES = {
    "lenet5 b64": (lambda: models.LeNet5(), (1, 28, 28), 64),
    "alexnet-small-bn b128": (lambda: models.AlexNetSmall(batch_norm=True), (3, 32, 32), 128),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for name, (build, shape, batch) in CASES.items():
        model = build().to("cuda")
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = ag.tensor(rng.standard_normal((batch, *shape), np.float32), device="cuda")
        y = ag.tensor(rng.integers(0, 10, batch), device="cuda")

        def step(model=model, optimizer=optimizer, x=x, y=y) -> None:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        for _ in range(5):
            step()
        ag.cuda.synchronize()
        queue, total = [], []
        for _ in range(30):
            start = time.perf_counter()
            step()
            queued = time.perf_counter()
            ag.cuda.synchronize()
            queue.append(queued - start)
            total.append(time.perf_counter() - start)
        print(f"== {name}: queue {1e3 * statistics.median(queue):.3f} ms, "
              f"step {1e3 * statistics.median(total):.3f} ms")  # fmt: skip
        with viz.profile() as profiler:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
        ag.cuda.synchronize()
        start = time.perf_counter()
        optimizer.step()
        ag.cuda.synchronize()
        print(profiler.table(top=args.top))
        print(f"optimizer.step {1e3 * (time.perf_counter() - start):.3f} ms\n")


if __name__ == "__main__":
    main()
