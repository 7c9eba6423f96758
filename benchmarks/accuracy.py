"""Accuracy and speed on the full datasets (not run in CI).

    python benchmarks/accuracy.py [mnist] [fashion-mnist] [cifar10] [--resume] [--epochs N]

`--epochs N` replaces the recipes' epochs (for a timing run: `cifar10 --epochs 1`).

`--resume` continues a run that was stopped (Ctrl-C or SIGTERM save a checkpoint) from
runs/accuracy-<name>/model.npz; seconds per epoch then count only the last part.

Trains with `autograd_cv.training.train` on ../shared/data (or $AUTOGRAD_CV_DATA) and
prints test accuracy, seconds per epoch and images/s. When PyTorch is available (see
benchmarks/_harness.py: the running interpreter, or $BENCH_TORCH_PYTHON), the same model,
data, batch size and optimizer are timed in PyTorch afterwards, in a process of its own
(the data handed over as a temporary .npz): a whole epoch for LeNet-5, the first
TORCH_STEPS steps of one for AlexNetSmall (then extrapolated).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness
import numpy as np
from _twins import torch_model

DATA = os.environ.get("AUTOGRAD_CV_DATA",
                      str(Path(__file__).resolve().parents[2] / "shared" / "data"))  # fmt: skip

#: PyTorch is timed on this many steps of an epoch (all of it when None), same batches.
TORCH_STEPS = {"lenet5": None, "alexnet-small-bn": 60}


def runs():
    """The three recipes (imported here so PyTorch's worker never imports autograd_cv)."""
    from autograd_cv.training import TrainConfig

    return {
        "mnist": TrainConfig(model="lenet5", dataset="mnist", epochs=3, batch_size=64,
                             lr=0.02, schedule="cosine"),
        "fashion-mnist": TrainConfig(model="lenet5", dataset="fashion-mnist", epochs=10,
                                     batch_size=64, lr=0.02, schedule="cosine"),
        "cifar10": TrainConfig(model="alexnet-small-bn", dataset="cifar10", epochs=6,
                               batch_size=128, lr=0.05, weight_decay=5e-4, schedule="cosine"),
    }  # fmt: skip


def torch_worker(settings_path: str, data_path: str) -> None:
    """In PyTorch's process: one epoch (or TORCH_STEPS steps) on the handed-over data."""
    torch = _harness.import_torch(int(os.environ.get("BENCH_THREADS", "2")))
    settings = json.loads(Path(settings_path).read_text())
    data = np.load(data_path)
    x, y = torch.from_numpy(data["train_x"]), torch.from_numpy(data["train_y"])
    model = torch_model(torch, settings["model"])
    optimizer = torch.optim.SGD(
        model.parameters(), lr=settings["lr"], momentum=settings["momentum"],
        weight_decay=settings["weight_decay"],
    )  # fmt: skip
    batch_size = settings["batch_size"]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    steps = TORCH_STEPS[settings["model"]] or -(-len(x) // batch_size)
    started = time.perf_counter()
    for step in range(steps):
        index = order[step * batch_size : (step + 1) * batch_size]
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = (time.perf_counter() - started) * len(x) / min(len(x), steps * batch_size)
    accuracy = None
    if TORCH_STEPS[settings["model"]] is None:
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(data["test_x"])).argmax(1).numpy()
        accuracy = float((predicted == data["test_y"]).mean())
    env = _harness.environment("torch")
    print(json.dumps({"seconds": seconds, "accuracy": accuracy, "env": env}))


def torch_epoch(python: str, config) -> tuple[float, float | None, dict]:
    """PyTorch's seconds per epoch (and accuracy after one) in a process of its own.

    Counts training steps only (our figure also includes loading and augmenting batches);
    when TORCH_STEPS limits the steps, the epoch time is extrapolated and no accuracy given.
    """
    from autograd_cv.training import DATASETS, load_dataset

    info = DATASETS[config.dataset]
    mean = np.asarray(info.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(info.std, np.float32).reshape(1, -1, 1, 1)

    def normalised(images: np.ndarray) -> np.ndarray:
        images = images.astype(np.float32).reshape(len(images), *info.image_shape) / 255
        return (images - mean) / std

    train_set = load_dataset(config.dataset, DATA, True)
    test_set = load_dataset(config.dataset, DATA, False)
    settings = {"model": config.model, "lr": config.learning_rate(),
                "momentum": config.momentum, "weight_decay": config.weight_decay,
                "batch_size": config.batch_size}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        data_path, settings_path = Path(folder, "data.npz"), Path(folder, "settings.json")
        np.savez(data_path, train_x=normalised(train_set.images),
                 train_y=train_set.labels.astype(np.int64),
                 test_x=normalised(test_set.images), test_y=test_set.labels)  # fmt: skip
        settings_path.write_text(json.dumps(settings))
        command = [python, __file__, "--torch-worker", str(settings_path), str(data_path)]
        done = subprocess.run(
            command, env=_harness.worker_environment(), capture_output=True, text=True
        )
    if done.returncode != 0:
        raise RuntimeError(f"PyTorch worker failed:\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["seconds"], report["accuracy"], report["env"]


def main(names: list[str], resume: bool = False, epochs: int | None = None) -> None:
    from autograd_cv.memory import retain_freed_memory
    from autograd_cv.training import train

    print(f"freed memory retained: {retain_freed_memory()}")
    print(_harness.describe(_harness.environment("ours")))
    print(f"data: {DATA}")
    python = _harness.torch_python(None)
    rows = []
    recipes = runs()
    for name in names or list(recipes):
        config = recipes[name]
        config.epochs = epochs or config.epochs
        config.data_dir, config.out, config.graph = DATA, f"runs/accuracy-{name}", False
        config.force = True  # a new run replaces this script's last one
        config.progress = sys.stderr.isatty()
        if resume and Path(config.out, "model.npz").exists():
            config.resume = str(Path(config.out, "model.npz"))
        metrics = train(config, log=lambda line: print("  " + line, flush=True))
        ours = float(np.mean(metrics["seconds_per_epoch"]))
        reference = "not available"
        if python is not None:
            seconds, accuracy, env = torch_epoch(python, config)
            print("  " + _harness.describe(env))
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
    if arguments[:1] == ["--torch-worker"]:
        torch_worker(*arguments[1:3])
        sys.exit(0)
    epochs = None
    if "--epochs" in arguments:
        at = arguments.index("--epochs")
        epochs = int(arguments[at + 1])
        del arguments[at : at + 2]
    main([a for a in arguments if a != "--resume"], resume="--resume" in arguments, epochs=epochs)
