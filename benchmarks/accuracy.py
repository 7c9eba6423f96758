"""Accuracy and speed on the full datasets (not run in CI).

    python benchmarks/accuracy.py [mnist] [fashion-mnist] [cifar10]

Trains with `autograd_cv.training.train` on ../shared/data (or $AUTOGRAD_CV_DATA) and
prints test accuracy, seconds per epoch and images/s. When PyTorch is installed, the same
LeNet-5 recipe is timed for one epoch on the same data in the same run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from _timing import environment, try_torch

from autograd_cv.training import TrainConfig, load_dataset, train

DATA = os.environ.get("AUTOGRAD_CV_DATA",
                      str(Path(__file__).resolve().parents[2] / "shared" / "data"))  # fmt: skip

RUNS = {
    "mnist": TrainConfig(
        model="lenet5", dataset="mnist", epochs=3, batch_size=64, lr=0.02, schedule="cosine"
    ),  # fmt: skip
    "fashion-mnist": TrainConfig(
        model="lenet5", dataset="fashion-mnist", epochs=3, batch_size=64, lr=0.02, schedule="cosine"
    ),  # fmt: skip
    "cifar10": TrainConfig(
        model="alexnet-small",
        dataset="cifar10",
        epochs=10,
        batch_size=128,
        lr=0.02,
        weight_decay=5e-4,
        schedule="cosine",
    ),  # fmt: skip
}


def torch_lenet_epoch(torch, dataset: str) -> tuple[float, float]:
    """Seconds for one LeNet-5 epoch in PyTorch (same data, batch 64, SGD momentum), accuracy."""
    nn = torch.nn
    train_set, test_set = load_dataset(dataset, DATA, True), load_dataset(dataset, DATA, False)

    def tensor(images):
        return torch.tensor((images.astype(np.float32) / 255 - 0.1307) / 0.3081)

    x, y = tensor(train_set.images), torch.tensor(train_set.labels)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    for start in range(0, len(x), 64):
        index = order[start : start + 64]
        loss = nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        predicted = model(tensor(test_set.images)).argmax(1).numpy()
    return seconds, float((predicted == test_set.labels).mean())


def main(names: list[str]) -> None:
    print(environment())
    print(f"data: {DATA}")
    rows = []
    for name in names or ["mnist", "fashion-mnist"]:
        config = RUNS[name]
        config.data_dir, config.out, config.graph = DATA, f"runs/accuracy-{name}", False
        config.progress = sys.stderr.isatty()
        metrics = train(config, log=lambda line: print("  " + line, flush=True))
        rows.append((name, config.model, metrics))
        torch = try_torch()
        if torch is not None and config.model == "lenet5":
            seconds, accuracy = torch_lenet_epoch(torch, name)
            print(f"  PyTorch LeNet-5, 1 epoch, same data: {seconds:.1f} s, "
                  f"test acc {accuracy:.4f}", flush=True)  # fmt: skip
    print("\n| dataset | model | epochs | test accuracy | s/epoch | images/s |")
    print("|---|---|---|---|---|---|")
    for name, model, m in rows:
        print(
            f"| {name} | {model} | {len(m['train_loss'])} | {m['test_accuracy']:.4f} | "
            f"{np.mean(m['seconds_per_epoch']):.1f} | {np.mean(m['images_per_second']):.0f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
