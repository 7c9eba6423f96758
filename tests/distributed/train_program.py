"""`training.train` for a few steps, data-parallel under mpiexec; run by test_mpi.py.

python train_program.py OUT STEPS [--resume CHECKPOINT]
"""

from __future__ import annotations

import argparse

from autograd_cv.training import Interrupted, TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("steps", type=int)
    parser.add_argument("--resume", default=None)
    args = parser.parse_args()
    config = TrainConfig(model="lenet5", dataset="mnist-mini", epochs=1, batch_size=64,
                         lr=0.05, seed=3, out=args.out, resume=args.resume, graph=False,
                         progress=False, stop_after_steps=args.steps)  # fmt: skip
    try:
        train(config)
    except Interrupted as stop:
        print(f"stopped: {stop.checkpoint}", flush=True)


if __name__ == "__main__":
    main()
