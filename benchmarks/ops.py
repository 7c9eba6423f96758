"""F.conv2d and F.max_pool2d through the engine (forward + backward, float32) vs PyTorch.

The shapes are those of benchmarks/conv.py (the kernels' own benchmark); this script adds
what a user pays on top of the kernels: building the Node, the backward driver, the bias
gradient, accumulating `.grad`. Each framework runs in a process of its own over alternating
rounds (benchmarks/_harness.py); our worker times the engine and the bare kernel calls in
turns, so the engine's overhead over the kernels is measured under the same load.

    python benchmarks/ops.py [--only "mid,pool 3/2"] [--rounds 3]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import _harness
import numpy as np
from conv import CONV_SHAPES, POOL_SHAPES, conv_data
from conv import build_ours as bare_kernels


def build_ours(case: str) -> dict[str, Callable[[], object]]:
    import autograd_cv as ag
    from autograd_cv import functional as F

    kernels = bare_kernels(case)["total"]
    if case in POOL_SHAPES:
        batch, channels, height, width, k, s = POOL_SHAPES[case]
        data = np.random.default_rng(0).standard_normal((batch, channels, height, width))
        x = ag.tensor(data.astype(np.float32), requires_grad=True)
        grad_output = np.ones(F.max_pool2d(x, k, s).shape, np.float32)

        def pool_engine() -> None:
            x.grad = None
            F.max_pool2d(x, k, s).backward(grad_output)

        return {"engine": pool_engine, "kernels": kernels}
    shape = CONV_SHAPES[case]
    x_data, w_data, b_data, grad_output = conv_data(shape)
    x, w, b = (ag.tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))
    stride, padding = shape[6], shape[7]

    def conv_engine() -> None:
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, stride, padding).backward(grad_output)

    return {"engine": conv_engine, "kernels": kernels}


def build(framework: str, case: str) -> dict[str, Callable[[], object]]:
    if framework == "ours":
        return build_ours(case)
    from conv import build_torch

    return {"engine": build_torch(case)["total"]}


def main() -> None:
    cases = [*CONV_SHAPES, *POOL_SHAPES]
    args = _harness.parser(__doc__.splitlines()[0], cases, repeats=7).parse_args()
    results = _harness.run(sys.argv[0], build, args)
    if results is None:
        return
    chosen = args.only.split(",")
    print("\nforward + backward through the engine (ms)")
    _harness.print_table(results, chosen, "engine")
    print("\nour engine's overhead over the bare kernels (same process, in turns)")
    for case in chosen:
        engine, kernels = (results.median("ours", case, m) for m in ("engine", "kernels"))
        print(f"{case:16s} engine {engine * 1e3:8.2f} ms, kernels {kernels * 1e3:8.2f} ms, "
              f"overhead {100 * (engine / kernels - 1):6.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
