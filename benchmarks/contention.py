"""LeNet-5 training steps alone and beside one other CPU-bound process, with and without
autograd_cv.threads.ThreadBudget (which `autograd-cv train` uses).

    python benchmarks/contention.py [--steps 100] [--rounds 3]

Each measurement is a process of its own (benchmarks/_harness.py's environment, with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset); the four settings alternate over rounds. The
busy process is a Python loop that never sleeps. Prints steps per second (median and the
lowest-highest round) and the slowdown the busy process causes in each mode; the issue's
target is at most 2.5x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import _harness
import numpy as np

MODES = ("fixed", "budget")


def worker(mode: str, steps: int) -> None:
    """Time `steps` LeNet-5 batch-64 SGD steps; print JSON."""
    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv import models, optim
    from autograd_cv.memory import retain_freed_memory
    from autograd_cv.threads import ThreadBudget

    retain_freed_memory()
    ag.manual_seed(0)
    model = models.LeNet5()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(64, 1, 28, 28)).astype(np.float32))
    y = rng.integers(0, 10, 64)
    budget = ThreadBudget() if mode == "budget" else None

    def step() -> None:
        if budget is not None:
            budget.update()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    threads = budget.threads if budget is not None else None
    env = _harness.environment(mode)
    print(json.dumps({"steps_per_second": steps / seconds, "threads": threads, "env": env}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps)
        return
    settings = [(mode, busy) for busy in (False, True) for mode in MODES]
    rates: dict[tuple[str, bool], list[float]] = {s: [] for s in settings}
    envs = {}
    for index in range(args.rounds):
        for mode, busy in settings if index % 2 == 0 else settings[::-1]:
            spinner = None
            if busy:
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.5)
            try:
                command = [sys.executable, sys.argv[0], "--worker", mode, "--steps",
                           str(args.steps)]  # fmt: skip
                done = subprocess.run(command, env=_harness.worker_environment(),
                                      capture_output=True, text=True, check=True)  # fmt: skip
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
            report = json.loads(done.stdout.strip().splitlines()[-1])
            rates[mode, busy].append(report["steps_per_second"])
            envs[mode, busy] = report
    print(f"{args.rounds} rounds, alternating, each setting in a process of its own; "
          f"{args.steps} LeNet-5 steps (batch 64) per measurement")  # fmt: skip
    print("  " + _harness.describe(envs["fixed", False]["env"]))
    for mode in MODES:
        alone, busy = (np.asarray(rates[mode, b]) for b in (False, True))
        threads = envs[mode, True]["threads"]
        print(f"{mode:7s} alone {np.median(alone):6.1f} steps/s "
              f"({alone.min():.1f}-{alone.max():.1f}) | beside a busy process "
              f"{np.median(busy):6.1f} ({busy.min():.1f}-{busy.max():.1f})"
              f"{f', {threads} thread(s) at the end' if threads else ''}"
              f" | slowdown {np.median(alone) / np.median(busy):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
