"""Per-op overhead: 1,000 chained elementwise ops on a (4,) float32 tensor, sum, backward.

Prints microseconds per op (forward + backward) for autograd_cv and, when PyTorch is available
(see benchmarks/_harness.py), PyTorch eager, each in a process of its own over alternating
rounds, and the ratio of the medians. Then the same chain in interleaved bursts (`--pairs`,
default 30; 0 skips it): one long-lived process per framework, taking turns a ~0.2 s burst
of chains at a time, so that a host that changes speed for seconds at a time slows both
sides of each pair alike (_harness.interleave); it prints the median of the pairs' ratios.

    python benchmarks/overhead.py [--rounds 5] [--pairs 30] [--torch-python /path/to/python]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import _harness
import numpy as np

N_OPS = 1000
CASES = ("chain",)


def build(framework: str, case: str) -> dict[str, Callable[[], None]]:
    """One chain of N_OPS ops plus its backward, in `framework`."""
    if framework == "ours":
        import autograd_cv as ag

        def chain() -> None:
            x = ag.tensor(np.linspace(0.1, 0.4, 4, dtype=np.float32), requires_grad=True)
            w = ag.tensor(np.full(4, 0.999, dtype=np.float32))
            y = x
            for _ in range(N_OPS // 2):
                y = y * w
                y = y + x
            y.sum().backward()

        return {"chain": chain}
    import torch

    def torch_chain() -> None:
        x = torch.linspace(0.1, 0.4, 4, dtype=torch.float32, requires_grad=True)
        w = torch.full((4,), 0.999, dtype=torch.float32)
        y = x
        for _ in range(N_OPS // 2):
            y = y * w
            y = y + x
        y.sum().backward()

    return {"chain": torch_chain}


def main() -> None:
    parser = _harness.parser(__doc__.splitlines()[0], CASES, repeats=15, rounds=5)
    parser.set_defaults(pairs=30)
    args = parser.parse_args()
    if args.serve:
        _harness.serve(build, args.serve, args.cases, "chain", args.repeats, args.threads)
        return
    results = _harness.run(sys.argv[0], build, args)
    if results is None:
        return
    print(f"\nmicroseconds per op (forward + backward, {N_OPS} ops on a (4,) tensor)")
    per_op = _harness.Results()
    for framework, by_case in results.rounds.items():
        values = [s / N_OPS for s in by_case["chain"]["chain"]]
        per_op.rounds[framework] = {"chain, per op": {"op": values}}
    _harness.print_table(per_op, ["chain, per op"], "op", unit="us")
    _harness.print_interleaved(sys.argv[0], args, ["chain"], "chain", unit="us", per=N_OPS)


if __name__ == "__main__":
    main()
