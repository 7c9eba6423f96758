"""Trains LeNet-5 for a few SGD steps on the embedded MNIST subset, data-parallel when run
under mpiexec; each rank saves its final weights. Run by tests/distributed/test_mpi.py.

    python ddp_program.py OUT BATCH_PER_RANK STEPS [--accumulate] [--bucket-mb MB]
        [--die-at STEP] [--hang-at STEP]
"""

from __future__ import annotations

import argparse
import os
import signal
import time

import numpy as np

import autograd_cv as ag
from autograd_cv import distributed as dist
from autograd_cv import functional as F
from autograd_cv import optim
from autograd_cv.data import DataLoader, MNISTMini
from autograd_cv.models import LeNet5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("batch", type=int)
    parser.add_argument("steps", type=int)
    parser.add_argument("--accumulate", action="store_true", help="two half batches, no_sync")
    parser.add_argument("--bucket-mb", type=float, default=4.0)
    parser.add_argument("--die-at", type=int, default=None, help="rank 1 kills itself (SIGKILL)")
    parser.add_argument("--hang-at", type=int, default=None, help="rank 1 stops answering")
    args = parser.parse_args()

    dist.init()
    # Each rank starts from different weights: the wrapper must copy rank 0's everywhere.
    ag.manual_seed(100 + dist.rank())
    model = dist.DistributedDataParallel(LeNet5(), bucket_cap_mb=args.bucket_mb)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train_set = MNISTMini(train=True)
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=7)
    loader = DataLoader(train_set, args.batch, sampler=sampler)
    overlapped = []
    for step, (images, labels) in enumerate(loader):
        if step == args.steps:
            break
        if dist.rank() == 1 and step == args.die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if dist.rank() == 1 and step == args.hang_at:
            time.sleep(120)
        optimizer.zero_grad()
        if args.accumulate:
            half = args.batch // 2
            with model.no_sync():
                (F.cross_entropy(model(images[:half]), labels[:half]) * 0.5).backward()
            (F.cross_entropy(model(images[half:]), labels[half:]) * 0.5).backward()
        else:
            F.cross_entropy(model(images), labels).backward()
        overlapped.append(model.buckets_overlapped)
        optimizer.step()
    state = {name: value for name, value in model.module.state_dict().items()}
    state["overlapped"] = np.array(overlapped)
    state["world_size"] = np.array(dist.world_size())
    np.savez(f"{args.out}.rank{dist.rank()}.npz", **state)


if __name__ == "__main__":
    main()
