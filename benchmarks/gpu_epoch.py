"""Whole epochs on the GPU (issue 18): LeNet-5 on real MNIST, and an AlexNetSmall-BN
CIFAR-10-sized epoch, autograd_cv against its PyTorch twin, each in a process of its own.

    PYTHONPATH=$PWD python benchmarks/gpu_epoch.py --mnist ../shared/data/mnist

MNIST: the training set on the device before the clock starts (as the issue's anchor), one
epoch of 938 steps of 64 (SGD, lr 0.02, momentum 0.9, the CLI's recipe), then the test-set
accuracy. `--device cpu` runs the same epoch on the CPU, for the accuracy to compare with.
CIFAR-10-sized: 391 steps of 128 random 3x32x32 images (the time does not depend on the
pixels; the CIFAR-10 files are too large to carry to the GPU machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

MEAN, STD = 0.1307, 0.3081


def _mnist(folder: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    from autograd_cv.data import MNIST

    data = MNIST(folder, train=train, download=False)
    images = ((data.images.astype(np.float32) / 255 - MEAN) / STD).astype(np.float32)
    return images, data.labels


def ours(args: argparse.Namespace) -> dict[str, float]:
    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv import models, optim

    where = args.device
    out: dict[str, float] = {}

    def sync() -> None:
        if where == "cuda":
            ag.cuda.synchronize()

    def epoch(model, images, labels, batch, order) -> float:
        optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        x = ag.tensor(images[order], device=where)
        y = ag.tensor(labels[order], device=where)
        sync()
        start = time.perf_counter()
        for first in range(0, len(order), batch):
            loss = F.cross_entropy(model(x[first : first + batch]), y[first : first + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        sync()
        return time.perf_counter() - start

    if args.mnist:
        ag.manual_seed(0)
        images, labels = _mnist(args.mnist, True)
        model = models.LeNet5().to(where)
        order = np.random.default_rng(0).permutation(len(labels))
        out["mnist epoch s"] = epoch(model, images, labels, 64, order)
        test_images, test_labels = _mnist(args.mnist, False)
        model.eval()
        right = 0
        with ag.no_grad():
            for first in range(0, len(test_labels), 1000):
                scores = model(ag.tensor(test_images[first : first + 1000], device=where))
                right += int((scores.argmax(1).cpu().numpy() == test_labels[first:][:1000]).sum())
        out["mnist test accuracy %"] = 100 * right / len(test_labels)
    if args.cifar_steps:
        ag.manual_seed(0)
        rng = np.random.default_rng(0)
        count = 128 * args.cifar_steps
        images = rng.standard_normal((count, 3, 32, 32), np.float32)
        labels = rng.integers(0, 10, count)
        model = models.AlexNetSmall(batch_norm=True).to(where)
        epoch(model, images[:256], labels[:256], 128, np.arange(256))  # warm-up
        seconds = epoch(model, images, labels, 128, np.arange(count))
        out["cifar-sized epoch s"] = seconds * 391 / args.cifar_steps
    return out


def torch_side(args: argparse.Namespace) -> dict[str, float]:
    import torch

    sys.path.insert(0, "benchmarks")
    from _twins import torch_model

    where = args.device
    out: dict[str, float] = {}

    def sync() -> None:
        if where == "cuda":
            torch.cuda.synchronize()

    def epoch(model, images, labels, batch, order) -> float:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        x = torch.tensor(images[order], device=where)
        y = torch.tensor(labels[order], device=where)
        sync()
        start = time.perf_counter()
        for first in range(0, len(order), batch):
            loss = torch.nn.functional.cross_entropy(
                model(x[first : first + batch]), y[first : first + batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        sync()
        return time.perf_counter() - start

    if args.mnist:
        torch.manual_seed(0)
        images, labels = _mnist(args.mnist, True)
        model = torch_model(torch, "lenet5").to(where)
        order = np.random.default_rng(0).permutation(len(labels))
        out["mnist epoch s"] = epoch(model, images, labels, 64, order)
        test_images, test_labels = _mnist(args.mnist, False)
        model.eval()
        with torch.no_grad():
            scores = model(torch.tensor(test_images, device=where))
        out["mnist test accuracy %"] = 100 * float(
            (scores.argmax(1).cpu().numpy() == test_labels).mean()
        )
    if args.cifar_steps:
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        count = 128 * args.cifar_steps
        images = rng.standard_normal((count, 3, 32, 32), np.float32)
        labels = rng.integers(0, 10, count)
        model = torch_model(torch, "alexnet-small-bn").to(where)
        epoch(model, images[:256], labels[:256], 128, np.arange(256))
        seconds = epoch(model, images, labels, 128, np.arange(count))
        out["cifar-sized epoch s"] = seconds * 391 / args.cifar_steps
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=["ours", "torch"])
    parser.add_argument("--frameworks", default="ours,torch")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--mnist", default="", help="folder with MNIST's IDX files")
    parser.add_argument("--cifar-steps", type=int, default=391, help="0 skips it")
    args = parser.parse_args()
    if args.framework:
        print(json.dumps((ours if args.framework == "ours" else torch_side)(args)))
        return
    for framework in args.frameworks.split(","):
        command = [sys.executable, __file__, "--framework", framework, "--device", args.device,
                   "--mnist", args.mnist, "--cifar-steps", str(args.cifar_steps)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{framework} failed:\n{done.stderr[-3000:]}")
            continue
        results = json.loads(done.stdout.strip().splitlines()[-1])
        print(framework, " ".join(f"{k}: {v:.3f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
