"""Per-op overhead: 1,000 chained elementwise ops on a (4,) float32 tensor, sum, backward.

Prints microseconds per op (forward + backward) for autograd_cv and, when installed,
PyTorch eager from the same run, and their ratio.
"""

from __future__ import annotations

import numpy as np
from _timing import environment, median_seconds, try_torch

import autograd_cv as ag

N_OPS = 1000


def chain_autograd_cv() -> None:
    x = ag.tensor(np.linspace(0.1, 0.4, 4, dtype=np.float32), requires_grad=True)
    w = ag.tensor(np.full(4, 0.999, dtype=np.float32))
    y = x
    for _ in range(N_OPS // 2):
        y = y * w
        y = y + x
    y.sum().backward()


def chain_torch(torch) -> None:
    x = torch.linspace(0.1, 0.4, 4, dtype=torch.float32, requires_grad=True)
    w = torch.full((4,), 0.999, dtype=torch.float32)
    y = x
    for _ in range(N_OPS // 2):
        y = y * w
        y = y + x
    y.sum().backward()


def main() -> None:
    print(environment())
    ours = median_seconds(chain_autograd_cv, repeats=15) / N_OPS * 1e6
    print(f"autograd_cv: {ours:6.2f} us/op (forward + backward, {N_OPS} ops on a (4,) tensor)")
    torch = try_torch()
    if torch is not None:
        theirs = median_seconds(lambda: chain_torch(torch), repeats=15) / N_OPS * 1e6
        print(f"PyTorch:     {theirs:6.2f} us/op")
        print(f"ratio autograd_cv / PyTorch: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
