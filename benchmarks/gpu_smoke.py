"""The first minute on a GPU machine: each basic path once, against the CPU, with tracebacks.

    PYTHONPATH=$PWD python benchmarks/gpu_smoke.py

Each check prints `ok` or its traceback and the next one runs anyway, so one run shows every
path that breaks (pytest's summary of tests/cuda follows in `gpu_check.sh`).
"""

from __future__ import annotations

import time
import traceback

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import optim
from autograd_cv.models import AlexNetSmall, LeNet5

RNG = np.random.default_rng(0)


def _both(fn, *arrays, grads=True):
    """fn on the CPU and on the GPU; the largest difference of outputs and input gradients."""
    worst = 0.0
    results = {}
    for where in ("cpu", "cuda"):
        tensors = [ag.tensor(a, device=where, requires_grad=grads) for a in arrays]
        out = fn(*tensors)
        got = [out.cpu().numpy()]
        if grads:
            out.sum().backward()
            got += [t.grad.cpu().numpy() for t in tensors]
        results[where] = got
    for a, b in zip(results["cpu"], results["cuda"]):
        scale = max(1.0, float(np.abs(a).max()))
        worst = max(worst, float(np.abs(a - b).max()) / scale)
    return worst


def _step(model_class, shape, batch, where):
    ag.manual_seed(0)
    model = model_class().to(where)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)  # the same batch on both devices
    x = ag.tensor(rng.standard_normal((batch, *shape), np.float32), device=where)
    y = ag.tensor(rng.integers(0, 10, batch), device=where)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _phases() -> None:
    """Where a LeNet-5 step's time goes on the GPU: forward, backward, optimizer (medians)."""
    import statistics

    model = LeNet5().to("cuda")
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = ag.tensor(RNG.standard_normal((64, 1, 28, 28), np.float32), device="cuda")
    y = ag.tensor(RNG.integers(0, 10, 64), device="cuda")
    times: dict[str, list[float]] = {"forward": [], "backward": [], "step": []}
    for _ in range(25):
        ag.cuda.synchronize()
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        ag.cuda.synchronize()
        middle = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        ag.cuda.synchronize()
        end = time.perf_counter()
        optimizer.step()
        ag.cuda.synchronize()
        times["forward"].append(middle - start)
        times["backward"].append(end - middle)
        times["step"].append(time.perf_counter() - end)
    medians = {k: 1e3 * statistics.median(v[5:]) for k, v in times.items()}
    print("     lenet5 b64 ms:", " ".join(f"{k} {v:.3f}" for k, v in medians.items()))


def main() -> None:
    print("ag.cuda.is_available():", ag.cuda.is_available(), ag.cuda.why_unavailable() or "")
    x = RNG.standard_normal((8, 3, 12, 12), np.float32)
    w = RNG.standard_normal((4, 3, 3, 3), np.float32)
    checks = {
        "round trip": lambda: float(np.abs(ag.tensor(x).cuda().cpu().numpy() - x).max()),
        "add/mul/sum": lambda: _both(lambda a: (a * 2 + 1).sum(axis=1), x),
        "matmul": lambda: _both(lambda a, b: a @ b, x[0, 0], x[1, 1]),
        "conv2d": lambda: _both(lambda a, b: F.conv2d(a, b, padding=1), x, w),
        "conv2d stride 2": lambda: _both(lambda a, b: F.conv2d(a, b, stride=2), x, w),
        "max_pool2d": lambda: _both(lambda a: F.max_pool2d(a, 2), x),
        "avg_pool2d": lambda: _both(lambda a: F.avg_pool2d(a, 3, 2, 1), x),
        "relu": lambda: _both(F.relu, x),
        "batch_norm": lambda: _both(
            lambda a: F.batch_norm(a, None, None, training=True), x.astype(np.float64)
        ),
        "cross_entropy": lambda: _both(
            lambda a: F.cross_entropy(a, ag.tensor(np.arange(8) % 3, device=a.device)),
            x[:, 0, 0, :3],
        ),
        "lenet5 step": lambda: abs(
            _step(LeNet5, (1, 28, 28), 16, "cpu") - _step(LeNet5, (1, 28, 28), 16, "cuda")
        ),
        "alexnet-small-bn step": lambda: abs(
            _step(lambda: AlexNetSmall(batch_norm=True), (3, 32, 32), 8, "cpu")
            - _step(lambda: AlexNetSmall(batch_norm=True), (3, 32, 32), 8, "cuda")
        ),
    }
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            difference = check()
            print(
                f"ok   {name:24} difference {difference:.2e}  {time.perf_counter() - start:6.2f} s"
            )
        except Exception:
            print(f"FAIL {name}")
            traceback.print_exc()
    try:
        _phases()
    except Exception:
        print("FAIL lenet5 b64 phases")
        traceback.print_exc()


if __name__ == "__main__":
    main()
