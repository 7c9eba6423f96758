"""Data-parallel cost on this machine: allreduce time for each model's gradients, and the
time of a training step, with 1 or N processes.

    mpiexec -n 2 python benchmarks/distributed.py [MODEL ...]  # also -n 1 (or plain python)
    python benchmarks/distributed.py --predict 0.008 1.3 4.0   # the cost-model table from
                                                # one process's step times (s) per model

Each rank uses one BLAS thread per core it gets (set OPENBLAS_NUM_THREADS yourself).
Prints one line per measurement from rank 0; medians over the repeats.
"""

from __future__ import annotations

import time

import numpy as np

import autograd_cv as ag
from autograd_cv import distributed as dist
from autograd_cv import functional as F
from autograd_cv import optim
from autograd_cv.models import AlexNet, AlexNetSmall, LeNet5

MODELS = {
    # name: (constructor, image shape, global batch, timed steps)
    "LeNet-5": (lambda: LeNet5(), (1, 28, 28), 64, 20),
    "AlexNetSmall": (lambda: AlexNetSmall(num_classes=10), (3, 32, 32), 128, 3),
    "AlexNet": (lambda: AlexNet(num_classes=1000), (3, 224, 224), 32, 2),
}


def allreduce_time(parameters: int) -> float:
    buffer = np.ones(parameters, dtype=np.float32)
    dist.all_reduce(buffer)  # warm-up
    times = []
    for _ in range(5):
        dist.barrier()
        started = time.perf_counter()
        dist.all_reduce(buffer)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def step_time(name: str) -> tuple[float, int]:
    build, shape, batch, steps = MODELS[name]
    ag.manual_seed(0)
    model = dist.DistributedDataParallel(build())
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    local = batch // dist.world_size()
    rng = np.random.default_rng(dist.rank())
    images = ag.tensor(rng.standard_normal((local, *shape)).astype(np.float32))
    labels = ag.tensor(rng.integers(0, 10, local))

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    step()  # warm-up (and kernel compilation)
    times = []
    for _ in range(steps):
        dist.barrier()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), batch


#: per message latency assumed for the ring's 2 (N - 1) steps: TCP on 10 Gb/s Ethernet, RDMA on 100
LATENCY = {10: 20e-6, 100: 3e-6}


def predicted_efficiency(parameters: int, step_seconds: float, processes: int,
                         gigabits: float) -> float:  # fmt: skip
    """Compute / (compute + ring allreduce), with no overlap: a lower bound on efficiency."""
    wire_bytes = parameters * 4 * 2 * (processes - 1) / processes
    comm = wire_bytes / (gigabits * 1e9 / 8) + 2 * (processes - 1) * LATENCY[gigabits]
    return step_seconds / (step_seconds + comm)


def cost_model_table(step_seconds: dict[str, float]) -> str:
    """The README's table: bytes on the wire per step and predicted weak-scaling efficiency."""
    rows = ["| model | parameters | bytes per step at N = 2 / 8 / 64 | compute per step "
            "(this machine) | 10 Gb/s: N = 2 / 8 / 64 | 100 Gb/s: N = 2 / 8 / 64 |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for name, (build, _, batch, _) in MODELS.items():
        parameters = build().num_parameters()
        wire = [parameters * 4 * 2 * (n - 1) / n / 1e6 for n in (2, 8, 64)]
        cells = [" / ".join(f"{predicted_efficiency(parameters, step_seconds[name], n, g):.0%}"
                            for n in (2, 8, 64)) for g in (10, 100)]  # fmt: skip
        rows.append(f"| {name} | {parameters:,} | {' / '.join(f'{w:.3g}' for w in wire)} MB "
                    f"| {step_seconds[name] * 1e3:.0f} ms (batch {batch}) | {cells[0]} | "
                    f"{cells[1]} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    import sys

    if sys.argv[1:2] == ["--predict"]:  # --predict LENET_S ALEXNETSMALL_S ALEXNET_S
        print(cost_model_table(dict(zip(MODELS, map(float, sys.argv[2:5])))))
        return
    dist.init()
    say = print if dist.is_main_process() else (lambda *a, **k: None)
    size = dist.world_size()
    chosen = [name for name in MODELS if not sys.argv[1:] or name in sys.argv[1:]]
    for name in chosen:
        build = MODELS[name][0]
        parameters = build().num_parameters()
        seconds = allreduce_time(parameters) if size > 1 else 0.0
        mib = parameters * 4 / 2**20
        say(f"{size} processes  {name:13s} {parameters:>11,} parameters ({mib:7.2f} MiB)  "
            f"allreduce {seconds * 1e3:8.2f} ms", flush=True)  # fmt: skip
    for name in chosen:
        seconds, batch = step_time(name)
        say(f"{size} processes  {name:13s} step, global batch {batch}: {seconds * 1e3:9.1f} ms "
            f"({batch / seconds:7.1f} images/s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
