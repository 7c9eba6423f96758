"""The conv2d and max_pool2d kernels (forward + backward, float32) against PyTorch.

    python benchmarks/conv.py [--only "mid,pool 2/2"] [--rounds 3] [--torch-python PATH]

Each framework runs in a process of its own over alternating rounds (benchmarks/_harness.py).
Ours: the bare kernels (forward, input gradient, weight gradient, both gradients in one pass,
and forward plus that pass, which is what a Conv2d layer's forward and backward run),
plus NumPy's own SGEMM on the forward GEMM's sizes, so the GEMM-bound shapes can be put
against the rate BLAS reaches. PyTorch: F.conv2d / F.max_pool2d forward + backward. Ratios
are ours / PyTorch (below 1 means we are faster). Nothing here asserts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import _harness
import numpy as np

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


def conv_data(shape: tuple[int, ...]):
    """Input, weight, bias and an output cotangent for one conv shape (same in both workers)."""
    batch, channels, height, width, out_channels, k, s, p = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
    weight = rng.standard_normal((out_channels, channels, k, k), dtype=np.float32)
    bias = rng.standard_normal(out_channels, dtype=np.float32)
    out_h, out_w = ((n + 2 * p - k) // s + 1 for n in (height, width))
    grad_output = rng.standard_normal((batch, out_channels, out_h, out_w), dtype=np.float32)
    return x, weight, bias, grad_output


def conv_flops(shape: tuple[int, ...]) -> float:
    """Multiply-adds x 2 of forward, input gradient and weight gradient."""
    batch, channels, height, width, out_channels, k, s, p = shape
    out_h, out_w = ((n + 2 * p - k) // s + 1 for n in (height, width))
    return 3 * 2 * batch * out_channels * out_h * out_w * channels * k * k


def build_ours(case: str) -> dict[str, Callable[[], object]]:
    from autograd_cv.kernels import conv, pool

    if case in POOL_SHAPES:
        batch, channels, height, width, k, s = POOL_SHAPES[case]
        x = np.random.default_rng(0).standard_normal((batch, channels, height, width), np.float32)
        y, _ = pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
        grad_output = np.ones_like(y)

        def pool_step() -> None:
            _, indices = pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
            pool.max_pool2d_backward(grad_output, indices, x.shape)

        return {"total": pool_step}
    shape = CONV_SHAPES[case]
    x, weight, bias, grad_output = conv_data(shape)
    geometry = ((shape[6],) * 2, (shape[7],) * 2, (1, 1), 1)

    def forward() -> None:
        conv.conv2d_forward(x, weight, bias, *geometry)

    def backward_input() -> None:
        conv.conv2d_backward_input(grad_output, weight, x.shape, *geometry)

    def backward_weight() -> None:
        conv.conv2d_backward_weight(x, grad_output, weight.shape, *geometry)
        grad_output.sum(axis=(0, 2, 3))  # the bias gradient, as PyTorch computes it

    def backward() -> None:  # both gradients in one pass, as Conv2d's backward runs them
        conv.conv2d_backward(x, grad_output, weight, *geometry)
        grad_output.sum(axis=(0, 2, 3))

    def total() -> None:
        forward()
        backward()

    rng = np.random.default_rng(1)
    a = rng.standard_normal((shape[4], weight[0].size), dtype=np.float32)
    b = rng.standard_normal((weight[0].size, grad_output[:, 0].size), dtype=np.float32)
    return {"fwd": forward, "bwd_in": backward_input, "bwd_w": backward_weight,
            "bwd": backward, "total": total, "sgemm": lambda: a @ b}  # fmt: skip


def build_torch(case: str) -> dict[str, Callable[[], object]]:
    import torch

    functional = torch.nn.functional
    if case in POOL_SHAPES:
        batch, channels, height, width, k, s = POOL_SHAPES[case]
        x = np.random.default_rng(0).standard_normal((batch, channels, height, width), np.float32)
        tx = torch.from_numpy(x).requires_grad_()

        def pool_step() -> None:
            out = functional.max_pool2d(tx, k, s)
            out.backward(torch.ones_like(out))
            tx.grad = None

        return {"total": pool_step}
    shape = CONV_SHAPES[case]
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in conv_data(shape)[:3])
    tg = torch.from_numpy(conv_data(shape)[3])

    def conv_step() -> None:
        functional.conv2d(tx, tw, tb, stride=shape[6], padding=shape[7]).backward(tg)
        tx.grad = tw.grad = tb.grad = None

    return {"total": conv_step}


def build(framework: str, case: str) -> dict[str, Callable[[], object]]:
    return build_ours(case) if framework == "ours" else build_torch(case)


def main() -> None:
    cases = [*CONV_SHAPES, *POOL_SHAPES]
    args = _harness.parser(__doc__.splitlines()[0], cases, repeats=7).parse_args()
    if args.serve:
        _harness.serve(build, args.serve, args.cases, "total", 0, args.threads)
        return
    results = _harness.run(sys.argv[0], build, args)
    if results is None:
        return
    chosen = args.only.split(",")
    convs = [c for c in chosen if c in CONV_SHAPES]
    print("\nconv2d forward + backward (ms)")
    _harness.print_table(results, convs, "total")
    print(
        "\nour parts (ms) and rates; SGEMM: NumPy's on the forward GEMM's sizes, same process,"
        " in bursts taking turns with the total (the share's numerator)"
    )
    print(f"{'case':16s} {'fwd':>7s} {'bwd_in':>7s} {'bwd_w':>7s} {'bwd':>7s} {'GFLOP/s':>8s} "
          f"{'SGEMM GFLOP/s':>14s} {'of SGEMM':>9s}")  # fmt: skip
    for case in convs:
        shape = CONV_SHAPES[case]
        parts = [results.median("ours", case, m) * 1e3 for m in ("fwd", "bwd_in", "bwd_w", "bwd")]
        rate = conv_flops(shape) / results.median("ours", case, "total") / 1e9
        sgemm = conv_flops(shape) / 3 / results.median("ours", case, "sgemm") / 1e9
        # the share from the total timed in bursts beside the SGEMM's (same host phase)
        paired = results.median("ours", case, "total_paired")
        share = conv_flops(shape) / paired / 1e9 / sgemm
        share = f"{100 * share:8.0f}%" if case in GEMM_BOUND else ""
        print(f"{case:16s} {parts[0]:7.2f} {parts[1]:7.2f} {parts[2]:7.2f} {parts[3]:7.2f} "
              f"{rate:8.1f} {sgemm:14.1f} {share:>9s}")  # fmt: skip
    pools = [c for c in chosen if c in POOL_SHAPES]
    if pools:
        print("\nmax_pool2d forward + backward (ms)")
        _harness.print_table(results, pools, "total")
    _harness.print_interleaved(sys.argv[0], args, chosen, "total")


if __name__ == "__main__":
    main()
