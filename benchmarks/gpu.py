"""The GPU anchor table (issue 18): autograd_cv on CuPy against PyTorch eager, same GPU.

Each framework runs in a process of its own (`--framework ours|torch` is the child); the
parent alternates them round by round and prints medians and ratios. Every timing
synchronizes the device before reading the clock. float32 throughout.

    PYTHONPATH=$PWD python benchmarks/gpu.py [--rounds 3] [--only conv,lenet5]

Rows: conv2d fwd+bwd on the five anchor shapes; a training step (forward, cross-entropy,
backward, SGD momentum) of LeNet-5 at batch 64 and 256 and of AlexNetSmall-BN at 128 and 512.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

CONVS = {
    "conv lenet-c1": ((64, 1, 28, 28), (6, 1, 5, 5), 1, 2),
    "conv lenet-c3": ((64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    "conv cifar": ((128, 3, 32, 32), (32, 3, 3, 3), 1, 1),
    "conv mid": ((64, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    "conv alexnet-c1": ((16, 3, 224, 224), (64, 3, 11, 11), 4, 2),
}
STEPS = {
    "step lenet5 b64": ("lenet5", (1, 28, 28), 64),
    "step lenet5 b256": ("lenet5", (1, 28, 28), 256),
    "step alexnet-small-bn b128": ("alexnet_small_bn", (3, 32, 32), 128),
    "step alexnet-small-bn b512": ("alexnet_small_bn", (3, 32, 32), 512),
}


def _median_ms(run, sync, repeats: int) -> float:
    for _ in range(3):  # warm-up: compilation, cuBLAS heuristics, the allocator's pools
        run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def ours(rows: list[str], repeats: int) -> dict[str, float]:
    sys.path.insert(0, "benchmarks")
    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv import models, optim

    sync = ag.cuda.synchronize
    rng = np.random.default_rng(0)
    out = {}
    for row in rows:
        if row in CONVS:
            x_shape, w_shape, stride, padding = CONVS[row]
            x = ag.tensor(rng.standard_normal(x_shape, np.float32), device="cuda")
            w = ag.tensor(rng.standard_normal(w_shape, np.float32), device="cuda")
            x.requires_grad_(), w.requires_grad_()

            def run(x=x, w=w, stride=stride, padding=padding):
                F.conv2d(x, w, stride=stride, padding=padding).sum().backward()

        else:
            name, shape, batch = STEPS[row]
            model = models.LeNet5() if name == "lenet5" else models.AlexNetSmall(batch_norm=True)
            model.to("cuda")
            optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            images = ag.tensor(rng.standard_normal((batch, *shape), np.float32), device="cuda")
            labels = ag.tensor(rng.integers(0, 10, batch), device="cuda")

            def run(model=model, optimizer=optimizer, images=images, labels=labels):
                loss = F.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        out[row] = _median_ms(run, sync, repeats)
    return out


def torch_side(rows: list[str], repeats: int) -> dict[str, float]:
    sys.path.insert(0, "benchmarks")
    import torch
    from _twins import torch_model

    sync = torch.cuda.synchronize
    rng = np.random.default_rng(0)
    out = {}
    for row in rows:
        if row in CONVS:
            x_shape, w_shape, stride, padding = CONVS[row]
            x = torch.tensor(rng.standard_normal(x_shape, np.float32), device="cuda")
            w = torch.tensor(rng.standard_normal(w_shape, np.float32), device="cuda")
            x.requires_grad_(), w.requires_grad_()

            def run(x=x, w=w, stride=stride, padding=padding):
                torch.nn.functional.conv2d(x, w, stride=stride, padding=padding).sum().backward()

        else:
            name, shape, batch = STEPS[row]
            model = torch_model(torch, name).cuda()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            images = torch.tensor(rng.standard_normal((batch, *shape), np.float32), device="cuda")
            labels = torch.tensor(rng.integers(0, 10, batch), device="cuda")

            def run(model=model, optimizer=optimizer, images=images, labels=labels):
                loss = torch.nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        out[row] = _median_ms(run, sync, repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=["ours", "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated row prefixes")
    args = parser.parse_args()
    rows = [r for r in [*CONVS, *STEPS]
            if not args.only or any(r.startswith(p) for p in args.only.split(","))]  # fmt: skip
    if args.framework:
        measure = ours if args.framework == "ours" else torch_side
        print(json.dumps(measure(rows, args.repeats)))
        return
    results: dict[str, dict[str, list[float]]] = {"ours": {}, "torch": {}}
    for _ in range(args.rounds):
        for framework in ("ours", "torch"):
            command = [sys.executable, __file__, "--framework", framework,
                       "--repeats", str(args.repeats), "--only", args.only]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{framework} failed:\n{done.stderr[-2000:]}")
                continue
            for row, ms in json.loads(done.stdout.strip().splitlines()[-1]).items():
                results[framework].setdefault(row, []).append(ms)
    print(f"{'row':30} {'autograd_cv ms':>15} {'PyTorch ms':>12} {'ratio':>7}")
    for row in rows:
        mine = results["ours"].get(row)
        theirs = results["torch"].get(row)
        a = statistics.median(mine) if mine else float("nan")
        b = statistics.median(theirs) if theirs else float("nan")
        print(f"{row:30} {a:15.3f} {b:12.3f} {a / b:7.2f}x")


if __name__ == "__main__":
    main()
