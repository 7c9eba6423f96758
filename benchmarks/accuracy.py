"""Accuracy and speed on the full datasets (not run in CI).

    python benchmarks/accuracy.py [mnist] [fashion-mnist] [cifar10] [--resume]

`--resume` continues a run that was stopped (Ctrl-C or SIGTERM save a checkpoint) from
runs/accuracy-<name>/model.npz; seconds per epoch then count only the last part.

Trains with `autograd_cv.training.train` on ../shared/data (or $AUTOGRAD_CV_DATA) and
prints test accuracy, seconds per epoch and images/s. When PyTorch is installed, the same
model, data, batch size and optimizer are timed in PyTorch in the same run: a whole epoch
for LeNet-5, the first TORCH_STEPS steps of one for AlexNetSmall (then extrapolated).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from _timing import environment, try_torch
from _twins import torch_model

from autograd_cv.memory import retain_freed_memory
from autograd_cv.training import DATASETS, TrainConfig, load_dataset, train

DATA = os.environ.get("AUTOGRAD_CV_DATA",
                      str(Path(__file__).resolve().parents[2] / "shared" / "data"))  # fmt: skip

RUNS = {
    "mnist": TrainConfig(model="lenet5", dataset="mnist", epochs=3, batch_size=64, lr=0.02,
                         schedule="cosine"),
    "fashion-mnist": TrainConfig(model="lenet5", dataset="fashion-mnist", epochs=10,
                                 batch_size=64, lr=0.02, schedule="cosine"),
    "cifar10": TrainConfig(model="alexnet-small-bn", dataset="cifar10", epochs=6,
                           batch_size=128, lr=0.05, weight_decay=5e-4, schedule="cosine"),
}  # fmt: skip

#: PyTorch is timed on this many steps of an epoch (all of it when None), same batches.
TORCH_STEPS = {"lenet5": None, "alexnet-small-bn": 60}


def torch_epoch(torch, config: TrainConfig) -> tuple[float, float | None]:
    """PyTorch's seconds per epoch for the same model, data, batch and optimizer.

    Counts training steps only (our figure also includes loading and augmenting batches);
    when TORCH_STEPS limits the steps, the epoch time is extrapolated from them and no
    accuracy is reported.
    """
    info = DATASETS[config.dataset]
    train_set = load_dataset(config.dataset, DATA, True)
    mean = np.asarray(info.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(info.std, np.float32).reshape(1, -1, 1, 1)

    def tensor(images: np.ndarray):
        images = images.astype(np.float32).reshape(len(images), *info.image_shape) / 255
        return torch.from_numpy((images - mean) / std)

    x, y = tensor(train_set.images), torch.from_numpy(train_set.labels.astype(np.int64))
    model = torch_model(torch, config.model)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.learning_rate(),
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    steps = TORCH_STEPS[config.model] or -(-len(x) // config.batch_size)
    started = time.perf_counter()
    for step in range(steps):
        index = order[step * config.batch_size : (step + 1) * config.batch_size]
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = (time.perf_counter() - started) * len(x) / min(len(x), steps * config.batch_size)
    if TORCH_STEPS[config.model] is not None:
        return seconds, None
    test_set = load_dataset(config.dataset, DATA, False)
    model.eval()
    with torch.no_grad():
        predicted = model(tensor(test_set.images)).argmax(1).numpy()
    return seconds, float((predicted == test_set.labels).mean())


def main(names: list[str], resume: bool = False) -> None:
    # train() does this too; doing it first makes it cover PyTorch's twin in every order.
    print(f"{environment()}, freed memory retained: {retain_freed_memory()}")
    print(f"data: {DATA}")
    torch = try_torch()
    rows = []
    for name in names or list(RUNS):
        config = RUNS[name]
        config.data_dir, config.out, config.graph = DATA, f"runs/accuracy-{name}", False
        config.force = True  # a new run replaces this script's last one
        config.progress = sys.stderr.isatty()
        if resume and Path(config.out, "model.npz").exists():
            config.resume = str(Path(config.out, "model.npz"))
        metrics = train(config, log=lambda line: print("  " + line, flush=True))
        ours = float(np.mean(metrics["seconds_per_epoch"]))
        reference = "not installed"
        if torch is not None:
            seconds, accuracy = torch_epoch(torch, config)
            reference = f"{seconds:.1f} s ({ours / seconds:.2f}x)"
            if accuracy is None:
                reference += f", from {TORCH_STEPS[config.model]} steps"
            else:
                reference += f", 1 epoch to {accuracy:.4f}"
            print(f"  PyTorch, same model, data and batch: {reference}", flush=True)
        rows.append((name, config.model, metrics, ours, reference))
    print("\n| dataset | model | epochs | test accuracy | s/epoch | images/s | PyTorch s/epoch |")
    print("|---|---|---|---|---|---|---|")
    for name, model, m, ours, reference in rows:
        print(
            f"| {name} | {model} | {len(m['train_loss'])} | {m['test_accuracy']:.4f} | "
            f"{ours:.1f} | {np.mean(m['images_per_second']):.0f} | {reference} |"
        )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([a for a in arguments if a != "--resume"], resume="--resume" in arguments)
