"""Checks the collectives on every rank; run under mpiexec by tests/distributed/test_mpi.py."""

from __future__ import annotations

import numpy as np

import autograd_cv as ag
from autograd_cv import distributed as dist


def main() -> None:
    dist.init()
    rank, size = dist.rank(), dist.world_size()
    total = sum(range(1, size + 1))

    values = np.full(5, rank + 1, dtype=np.float32)
    assert dist.all_reduce(values) is values
    np.testing.assert_array_equal(values, np.full(5, total))
    tensor = ag.tensor(np.full((2, 3), rank + 1.0))
    assert dist.all_reduce(tensor, op="mean") is tensor
    np.testing.assert_allclose(tensor.numpy(), total / size)
    wide = np.arange(12.0).reshape(3, 4) * (rank + 1)
    view = wide[:, ::2]  # not contiguous: reduced through a copy, written back
    dist.all_reduce(view, op="max")
    np.testing.assert_array_equal(wide[:, ::2], np.arange(12.0).reshape(3, 4)[:, ::2] * size)
    np.testing.assert_array_equal(dist.all_reduce([rank], op="min"), [0])

    weights = np.full(4, float(rank))
    dist.broadcast(weights, root=size - 1)
    np.testing.assert_array_equal(weights, size - 1)
    dist.barrier()
    print(f"rank {rank} of {size}: collectives ok", flush=True)


if __name__ == "__main__":
    main()
