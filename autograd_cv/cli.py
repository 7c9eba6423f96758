"""The `autograd-cv` command line."""

from __future__ import annotations

import argparse
import sys

import numpy as np

import autograd_cv as ag


def _spirals(n_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, the classic non-linear toy problem."""
    t = np.sqrt(rng.random(n_per_class)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.02, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return x.astype(np.float32), y.astype(np.float32)


def demo(seed: int = 0) -> float:
    """Train a two-layer network by hand (no nn, no optim) on two spirals; return accuracy."""
    rng = np.random.default_rng(seed)
    x, y = _spirals(200, rng)
    inputs, targets = ag.tensor(x), ag.tensor(y[:, None])
    w1 = ag.tensor(rng.normal(0, 1.0, (2, 64)).astype(np.float32), requires_grad=True)
    b1 = ag.tensor(np.zeros(64, np.float32), requires_grad=True)
    w2 = ag.tensor(rng.normal(0, 0.1, (64, 1)).astype(np.float32), requires_grad=True)
    b2 = ag.tensor(np.zeros(1, np.float32), requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(1501):
        hidden = ag.maximum(inputs @ w1 + b1, 0.0)
        logits = hidden @ w2 + b2
        # logistic loss, written out: log(1 + e^-|z|) + max(z, 0) - z*y
        loss = ((-logits.abs()).exp() + 1).log() + ag.maximum(logits, 0.0) - logits * targets
        loss = loss.mean()
        for p in params:
            p.grad = None
        loss.backward()
        with ag.no_grad():
            for p in params:
                p.sub_(p.grad.numpy(), alpha=0.5)
        if step % 300 == 0:
            accuracy = float(((logits.numpy() > 0) == (y[:, None] > 0.5)).mean())
            print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    return accuracy


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `autograd-cv` command."""
    parser = argparse.ArgumentParser(prog="autograd-cv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="train a small network and show the result")
    demo_parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        accuracy = demo(args.seed)
        print(f"two-spirals accuracy: {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
