"""F.conv2d and F.max_pool2d through the engine (forward + backward, float32) vs PyTorch.

The shapes are those of benchmarks/conv.py (the kernels' own benchmark); this script adds
what a user pays on top of the kernels: building the Node, the backward driver, the bias
gradient, accumulating `.grad`. Prints milliseconds (median of repeats), the ratio to
PyTorch measured in the same run, and the engine's overhead over the bare kernel calls.
Run as `python benchmarks/ops.py`; nothing here asserts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
from _timing import environment, try_torch
from conv import CONV_SHAPES, POOL_SHAPES  # the kernels' benchmark shapes, kept in one place

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.kernels import conv as conv_kernels
from autograd_cv.kernels import pool as pool_kernels

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def interleaved_medians(functions: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median seconds of each function, timed in turns (engine, kernels, torch, engine, ...)
    so that a busy machine slows all of them alike and the ratios stay meaningful."""
    for fn in functions.values():
        fn()  # warm up: compile, allocate
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(REPEATS):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def conv_row(shape: tuple[int, ...], rng: np.random.Generator, torch) -> dict[str, float]:
    """Engine, bare kernels and torch times for one conv2d forward + backward."""
    batch, channels, height, width, out_channels, k, s, p = shape
    x_data = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
    w_data = rng.standard_normal((out_channels, channels, k, k), dtype=np.float32)
    b_data = rng.standard_normal(out_channels, dtype=np.float32)
    x = ag.tensor(x_data, requires_grad=True)
    w = ag.tensor(w_data, requires_grad=True)
    b = ag.tensor(b_data, requires_grad=True)
    grad_output = rng.standard_normal(F.conv2d(x, w, b, s, p).shape, dtype=np.float32)

    def engine() -> None:
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, s, p).backward(grad_output)

    geometry = ((s, s), (p, p), (1, 1), 1)

    def kernels() -> None:
        conv_kernels.conv2d_forward(x_data, w_data, b_data, *geometry)
        conv_kernels.conv2d_backward_input(grad_output, w_data, x_data.shape, *geometry)
        conv_kernels.conv2d_backward_weight(x_data, grad_output, w_data.shape, *geometry)
        grad_output.sum(axis=(0, 2, 3))

    functions = {"engine": engine, "kernels": kernels}
    if torch is not None:
        tx = torch.from_numpy(x_data).requires_grad_()
        tw = torch.from_numpy(w_data).requires_grad_()
        tb = torch.from_numpy(b_data).requires_grad_()
        tg = torch.from_numpy(grad_output)

        def reference() -> None:
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p).backward(tg)

        functions["torch"] = reference
    return interleaved_medians(functions)


def pool_row(shape: tuple[int, ...], rng: np.random.Generator, torch) -> dict[str, float]:
    """Engine, bare kernels and torch times for one max_pool2d forward + backward."""
    batch, channels, height, width, k, s = shape
    x_data = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
    x = ag.tensor(x_data, requires_grad=True)
    grad_output = rng.standard_normal(F.max_pool2d(x, k, s).shape, dtype=np.float32)

    def engine() -> None:
        x.grad = None
        F.max_pool2d(x, k, s).backward(grad_output)

    def kernels() -> None:
        _, indices = pool_kernels.max_pool2d_forward(x_data, (k, k), (s, s), (0, 0))
        pool_kernels.max_pool2d_backward(grad_output, indices, x_data.shape)

    functions = {"engine": engine, "kernels": kernels}
    if torch is not None:
        tx = torch.from_numpy(x_data).requires_grad_()
        tg = torch.from_numpy(grad_output)

        def reference() -> None:
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, k, s).backward(tg)

        functions["torch"] = reference
    return interleaved_medians(functions)


def _print(name: str, row: dict[str, float], ratios: list[float]) -> None:
    overhead = 100 * (row["engine"] / row["kernels"] - 1)
    line = f"{name:24s} {row['engine'] * 1e3:9.2f} {row['kernels'] * 1e3:9.2f} {overhead:8.1f}%"
    if "torch" in row:
        ratios.append(row["engine"] / row["torch"])
        line += f" {row['torch'] * 1e3:9.2f} {ratios[-1]:6.2f}"
    print(line)


def main() -> None:
    """Print one table for conv2d and one for max_pool2d, with geometric-mean ratios."""
    rng = np.random.default_rng(0)
    torch = try_torch()
    print(environment())
    print(f"repeats: {REPEATS} (median, interleaved); ms for forward + backward, float32\n")
    header = (
        f"{'op':24s} {'engine':>9s} {'kernels':>9s} {'overhead':>9s} {'torch':>9s} {'ratio':>6s}"
    )
    for title, shapes, timer in (
        ("F.conv2d", CONV_SHAPES, conv_row),
        ("F.max_pool2d", POOL_SHAPES, pool_row),
    ):
        print(f"{title}\n{header}")
        print("-" * len(header))
        ratios: list[float] = []
        for name, shape in shapes.items():
            _print(name, timer(shape, rng, torch), ratios)
        if ratios:
            print(f"geometric mean of engine / torch: {np.exp(np.mean(np.log(ratios))):.2f}\n")


if __name__ == "__main__":
    main()
