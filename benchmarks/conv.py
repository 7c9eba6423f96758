"""Benchmark the conv2d and max_pool2d kernels (forward + backward, float32) against PyTorch.

Run as ``python benchmarks/conv.py``. PyTorch, when importable, is timed in the same run with
two threads; ratios are ours / torch (below 1 means we are faster). Nothing here asserts.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import geometric_mean  # noqa: E402
from _timing import median_seconds as median_time  # noqa: E402

from autograd_cv.kernels import conv, pool  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f

    torch.set_num_threads(2)
except ImportError:  # pragma: no cover - torch is optional
    torch = None

# name: (N, C, H, W, out_channels, kernel, stride, padding)
CONV_SHAPES = {
    "LeNet conv1": (64, 1, 28, 28, 6, 5, 1, 2),
    "LeNet conv2": (64, 6, 14, 14, 16, 5, 1, 0),
    "CIFAR": (128, 3, 32, 32, 32, 3, 1, 1),
    "mid": (64, 64, 32, 32, 64, 3, 1, 1),
    "AlexNet conv1": (16, 3, 224, 224, 64, 11, 4, 2),
}
GEMM_BOUND = ("CIFAR", "mid", "AlexNet conv1")

# name: (N, C, H, W, kernel, stride)
POOL_SHAPES = {
    "pool 2/2": (64, 64, 32, 32, 2, 2),
    "pool 3/2": (16, 64, 55, 55, 3, 2),
}

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def settle() -> None:
    """Let the other library's thread pool go idle before timing (see the note in main)."""
    time.sleep(0.3)


def openblas_info() -> str:
    """Describe the BLAS NumPy uses: build config, OPENBLAS_CORETYPE and the kernel in use."""
    config = np.__config__.CONFIG["Build Dependencies"]["blas"]
    parts = [
        f"numpy {np.__version__} BLAS: {config.get('name')} {config.get('version')}",
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}",
    ]
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libs_dir, "*openblas*")):
        library = ctypes.CDLL(path)  # the very library NumPy already loaded
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                getter = getattr(library, f"{prefix}get_corename{suffix}", None)
                if getter is None:
                    continue
                getter.restype = ctypes.c_char_p
                parts.append(f"OpenBLAS core in use: {getter().decode()}")
                threads = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                if threads is not None:
                    parts.append(f"OpenBLAS threads: {threads()}")
                return "; ".join(parts)
    parts.append(f"openblas configuration: {config.get('openblas configuration', '?')}")
    return "; ".join(parts)


def conv_case(shape: tuple[int, ...], rng: np.random.Generator) -> dict[str, float]:
    """Time our conv2d forward+backward (and its parts) and, if available, torch's."""
    batch, channels, height, width, out_channels, k, s, p = shape
    x = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
    weight = rng.standard_normal((out_channels, channels, k, k), dtype=np.float32)
    bias = rng.standard_normal(out_channels, dtype=np.float32)
    geometry = dict(stride=(s, s), padding=(p, p), dilation=(1, 1), groups=1)
    y = conv.conv2d_forward(x, weight, bias, **geometry)
    grad_output = rng.standard_normal(y.shape, dtype=np.float32)

    def forward():
        return conv.conv2d_forward(x, weight, bias, **geometry)

    def backward_input():
        return conv.conv2d_backward_input(grad_output, weight, x.shape, **geometry)

    def backward_weight():
        conv.conv2d_backward_weight(x, grad_output, weight.shape, **geometry)
        return grad_output.sum(axis=(0, 2, 3))  # the bias gradient, as torch computes it

    def step():
        forward()
        backward_input()
        backward_weight()

    result = {
        "fwd": median_time(forward, REPEATS),
        "bwd_in": median_time(backward_input, REPEATS),
        "bwd_w": median_time(backward_weight, REPEATS),
        "total": median_time(step, REPEATS),
    }
    result["flops"] = 3 * 2 * y.size * channels * k * k
    # SGEMM reference: the forward GEMM's dimensions, as one plain float32 matmul.
    a = rng.standard_normal((out_channels, channels * k * k), dtype=np.float32)
    b = rng.standard_normal((channels * k * k, batch * y.shape[2] * y.shape[3]), dtype=np.float32)
    result["sgemm_gflops"] = (
        2 * a.shape[0] * a.shape[1] * b.shape[1] / median_time(lambda: a @ b, REPEATS) / 1e9
    )

    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_()
        tw = torch.from_numpy(weight).requires_grad_()
        tb = torch.from_numpy(bias).requires_grad_()
        tg = torch.from_numpy(grad_output)

        def torch_step():
            out = torch_f.conv2d(tx, tw, tb, stride=s, padding=p)
            out.backward(tg)
            tx.grad = tw.grad = tb.grad = None

        settle()
        result["torch"] = median_time(torch_step, REPEATS)
        settle()
    return result


def pool_case(shape: tuple[int, ...], rng: np.random.Generator) -> dict[str, float]:
    """Time our max_pool2d forward+backward and, if available, torch's."""
    batch, channels, height, width, k, s = shape
    x = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
    y, indices = pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
    grad_output = rng.standard_normal(y.shape, dtype=np.float32)

    def step():
        _, idx = pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
        pool.max_pool2d_backward(grad_output, idx, x.shape)

    result = {"total": median_time(step, REPEATS)}
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_()
        tg = torch.from_numpy(grad_output)

        def torch_step():
            torch_f.max_pool2d(tx, k, s).backward(tg)
            tx.grad = None

        settle()
        result["torch"] = median_time(torch_step, REPEATS)
        settle()
    return result


def main() -> None:
    """Print the conv and pool tables, the geometric mean of ratios and the BLAS in use."""
    # OpenBLAS workers busy-wait for ~0.1 s after each GEMM and torch's OpenMP workers spin
    # after each parallel region; on 2 cores either would slow the other library's first
    # repeats, so each library is timed after a short idle pause.
    rng = np.random.default_rng(0)
    print(openblas_info())
    print(f"numba threads: {__import__('numba').get_num_threads()}, repeats: {REPEATS} (median)")
    if torch is not None:
        print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}")
    print()
    header = (
        f"{'conv2d fwd+bwd f32':16s} {'fwd':>7s} {'bwd_in':>7s} {'bwd_w':>7s} {'total':>8s} "
        f"{'GFLOP/s':>8s} {'sgemm%':>7s} {'torch':>8s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for name, shape in CONV_SHAPES.items():
        r = conv_case(shape, rng)
        gflops = r["flops"] / r["total"] / 1e9
        sgemm = f"{100 * gflops / r['sgemm_gflops']:6.0f}%" if name in GEMM_BOUND else ""
        line = (
            f"{name:16s} {r['fwd'] * 1e3:7.2f} {r['bwd_in'] * 1e3:7.2f} {r['bwd_w'] * 1e3:7.2f} "
            f"{r['total'] * 1e3:8.2f} {gflops:8.1f} {sgemm:>7s}"
        )
        if "torch" in r:
            ratios.append(r["total"] / r["torch"])
            line += f" {r['torch'] * 1e3:8.2f} {ratios[-1]:6.2f}"
        print(line)
        if name in GEMM_BOUND:
            rate = r["sgemm_gflops"]
            print(f"{'':16s} (plain SGEMM of the forward GEMM's size: {rate:.1f} GFLOP/s)")
    if ratios:
        print(f"geometric mean of conv ratios (ours/torch): {geometric_mean(ratios):.2f}")
    print()
    print(f"{'max_pool2d fwd+bwd':24s} {'ours ms':>8s} {'torch ms':>9s} {'ratio':>6s}")
    for name, shape in POOL_SHAPES.items():
        r = pool_case(shape, rng)
        label = f"{name} {shape[:4]}"
        line = f"{label:24s} {r['total'] * 1e3:8.2f}"
        if "torch" in r:
            line += f" {r['torch'] * 1e3:9.2f} {r['total'] / r['torch']:6.2f}"
        print(line)


if __name__ == "__main__":
    main()
