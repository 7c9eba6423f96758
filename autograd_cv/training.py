"""Training and evaluation on the classic datasets, with resumable checkpoints.

A checkpoint holds everything a run needs to continue exactly where it stopped: the
model, the optimizer's state (momentum buffers, step counts), the position inside the
epoch, the sums behind the epoch's running loss and accuracy, the history so far, and
the state of the random generator behind dropout. The data order is a function of
(seed, epoch), so a resumed run replays the same batches and reaches the same weights
as a run that was never interrupted.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import autograd_cv as ag
from autograd_cv import creation, nn, optim
from autograd_cv import functional as F
from autograd_cv.data import (
    CIFAR10,
    MNIST,
    Compose,
    DataLoader,
    FashionMNIST,
    MNISTMini,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
)
from autograd_cv.memory import retain_freed_memory
from autograd_cv.models import MLP, AlexNetSmall, LeNet5, Perceptron
from autograd_cv.serialization import atomic_file
from autograd_cv.threads import ThreadBudget

CHECKPOINT_FORMAT = "autograd_cv.checkpoint/1"


class UsageError(Exception):
    """A problem with what the user asked for; the command line prints it as one line."""


# ----- datasets -------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetInfo:
    """How to load one dataset and what its images look like."""

    load: Callable[[str | None, bool], Any]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    augment: bool = False


_DIGITS = tuple(str(d) for d in range(10))
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        lambda root, train: MNIST(root, train=train), (1, 28, 28), (0.1307,), (0.3081,), _DIGITS
    ),
    "mnist-mini": DatasetInfo(
        lambda root, train: MNISTMini(train=train), (1, 28, 28), (0.1307,), (0.3081,), _DIGITS
    ),
    "fashion-mnist": DatasetInfo(
        lambda root, train: FashionMNIST(root, train=train),
        (1, 28, 28),
        (0.2860,),
        (0.3530,),
        tuple(FashionMNIST.classes),
    ),  # fmt: skip
    "cifar10": DatasetInfo(
        lambda root, train: CIFAR10(root, train=train),
        (3, 32, 32),
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        augment=True,
    ),  # fmt: skip
}


def load_dataset(name: str, data_dir: str | None, train: bool) -> Any:
    """The named dataset's split, with clear errors for a missing folder or missing files."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UsageError(f"data folder {data_dir!r} does not exist")
    try:
        return DATASETS[name].load(data_dir, train)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error).replace("\n", " ")) from None


def transforms(name: str, train: bool) -> Compose:
    """Float conversion and normalisation; random crops and flips for CIFAR-10 training."""
    info = DATASETS[name]
    steps = [ToFloat()]
    if train and info.augment:
        steps += [RandomCrop(info.image_shape[1], padding=4), RandomHorizontalFlip()]
    steps.append(Normalize(info.mean, info.std))
    return Compose(steps)


# ----- models ---------------------------------------------------------------------------
MODELS = ("perceptron", "mlp", "lenet5", "alexnet-small", "alexnet-small-bn")


def build_model(name: str, image_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """One of the classic models, sized for the dataset's images."""
    channels, height, width = image_shape
    if name == "perceptron":
        return Perceptron(channels * height * width, num_classes)
    if name == "mlp":
        return MLP([channels * height * width, 256, 256, num_classes])
    if name == "lenet5":
        return LeNet5(in_channels=channels, num_classes=num_classes, input_size=height)
    if name in ("alexnet-small", "alexnet-small-bn"):
        if image_shape != (3, 32, 32):
            raise UsageError(f"{name} needs 3x32x32 images (cifar10), not {image_shape}")
        return AlexNetSmall(num_classes=num_classes, batch_norm=name.endswith("-bn"))
    raise UsageError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def forward(model: nn.Module, images: ag.Tensor) -> ag.Tensor:
    """Class scores; the perceptron takes flat vectors."""
    if isinstance(model, Perceptron):
        images = images.reshape(images.shape[0], -1)
    return model(images)


def loss_fn(model: nn.Module, scores: ag.Tensor, labels: ag.Tensor) -> ag.Tensor:
    """Cross-entropy, or the hinge loss for the perceptron."""
    if isinstance(model, Perceptron):
        return F.multi_margin_loss(scores, labels)
    return F.cross_entropy(scores, labels)


# ----- configuration ----------------------------------------------------------------------
DEFAULT_LR = {"sgd": 0.02, "adam": 1e-3}


@dataclass
class TrainConfig:
    """What `autograd-cv train` was asked to do."""

    model: str = "lenet5"
    dataset: str = "mnist-mini"
    data_dir: str | None = None
    epochs: int = 3
    batch_size: int = 64
    lr: float | None = None
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    #: "cosine": the learning rate falls from lr to 0 over the epochs (per epoch, closed form)
    schedule: str = "constant"
    seed: int = 0
    out: str = "runs/latest"
    resume: str | None = None
    graph: bool = True
    progress: bool = True
    #: stop (as if interrupted) after this many optimizer steps; for tests and notebooks
    stop_after_steps: int | None = None
    #: fit BLAS/Numba threads to the cores other processes leave free (autograd_cv.threads)
    adapt_threads: bool = True
    extra: dict = field(default_factory=dict)

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    """SGD with momentum or Adam, as configured."""
    if config.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=config.learning_rate(), momentum=config.momentum,
                         weight_decay=config.weight_decay)  # fmt: skip
    if config.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=config.learning_rate(),
                          weight_decay=config.weight_decay)  # fmt: skip
    raise UsageError(f"unknown optimizer {config.optimizer!r}; choose sgd or adam")


def set_learning_rate(optimizer: optim.Optimizer, config: TrainConfig, epoch: int) -> float:
    """The epoch's learning rate, from the epoch alone, so a resumed run gets the same one."""
    lr = config.learning_rate()
    if config.schedule == "cosine":
        lr = lr * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))
    elif config.schedule != "constant":
        raise UsageError(f"unknown schedule {config.schedule!r}; choose constant or cosine")
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


# ----- checkpoints ----------------------------------------------------------------------
def rng_state() -> str:
    """The package generator's state (dropout, initialisation) as JSON."""
    return json.dumps(creation.generator().bit_generator.state)


def set_rng_state(state: str) -> None:
    """Restore the package generator from `rng_state()`'s JSON."""
    creation.generator().bit_generator.state = json.loads(state)


def save_checkpoint(path: Path, model: nn.Module, optimizer: optim.Optimizer,
                    config: TrainConfig, progress: dict) -> None:  # fmt: skip
    """Write a resumable checkpoint atomically."""
    ag.save(
        {
            "format": CHECKPOINT_FORMAT,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "meta": {
                "model": config.model,
                "dataset": config.dataset,
                "config": json.dumps(asdict(config)),
            },
            "progress": json.dumps(progress),
            "rng": rng_state(),
        },
        path,
    )


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load and validate a checkpoint written by `save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {str(path)!r} does not exist")
    try:
        checkpoint = ag.load(path)
    except ValueError as error:
        raise UsageError(
            f"checkpoint {str(path)!r} is corrupt or not a checkpoint: {error}"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{str(path)!r} is not an autograd_cv training checkpoint")
    return checkpoint


def restore_model(checkpoint: dict, path: str, expected_model: str | None = None) -> nn.Module:
    """Build the checkpoint's model and load its weights, refusing a mismatch clearly."""
    meta = checkpoint["meta"]
    if expected_model is not None and meta["model"] != expected_model:
        raise UsageError(
            f"checkpoint {path!r} is for model {meta['model']!r}, not {expected_model!r}"
        )
    info = DATASETS[meta["dataset"]]
    model = build_model(meta["model"], info.image_shape, len(info.classes))
    try:
        model.load_state_dict(checkpoint["model"])
    except (KeyError, ValueError, RuntimeError) as error:
        raise UsageError(f"checkpoint {path!r} does not fit {meta['model']}: {error}") from None
    return model


# ----- interruption -----------------------------------------------------------------------
class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it after each step."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.signal = signum


@contextmanager
def _catch_stop_signals() -> Iterator[_StopFlag]:
    flag = _StopFlag()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, flag)
        except ValueError:  # not the main thread: signals cannot be caught here
            pass
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Interrupted(Exception):
    """Training stopped early; a resumable checkpoint was written."""

    def __init__(self, checkpoint: Path, signum: int | None) -> None:
        super().__init__(str(checkpoint))
        self.checkpoint = checkpoint
        self.signum = signum


# ----- the loop ---------------------------------------------------------------------------
def evaluate(model: nn.Module, loader: DataLoader, num_classes: int) -> tuple[float, np.ndarray]:
    """Accuracy and confusion matrix (rows: true class, columns: predicted)."""
    model.eval()
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    with ag.no_grad():
        for images, labels in loader:
            predicted = forward(model, images).numpy().argmax(axis=1)
            np.add.at(confusion, (labels.numpy(), predicted), 1)
    model.train()
    return float(np.trace(confusion) / max(confusion.sum(), 1)), confusion


def _progress_bar(total: int, description: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="batch", leave=False, file=sys.stderr,
                disable=None if enabled else True, dynamic_ncols=True)  # fmt: skip


@contextmanager
def _restoring(budget: ThreadBudget | None):
    """Give the thread pools all cores back when training ends, however it ends."""
    try:
        yield
    finally:
        if budget is not None:
            budget.restore()


def train(config: TrainConfig, log: Callable[[str], None] = print) -> dict:
    """Train as configured; write model.npz, metrics.json, curves.png and graph.svg to `out`."""
    if config.model not in MODELS:
        raise UsageError(f"unknown model {config.model!r}; choose from {', '.join(MODELS)}")
    if config.epochs < 1 or config.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    info = DATASETS.get(config.dataset)
    if info is None:
        raise UsageError(f"unknown dataset {config.dataset!r}; choose from {', '.join(DATASETS)}")
    build_model(config.model, info.image_shape, len(info.classes))  # refuse bad pairs early
    checkpoint = read_checkpoint(config.resume) if config.resume else None
    if checkpoint is not None and checkpoint["meta"]["dataset"] != config.dataset:
        raise UsageError(
            f"checkpoint {config.resume!r} was trained on {checkpoint['meta']['dataset']!r}, "
            f"not {config.dataset!r}"
        )
    train_set = load_dataset(config.dataset, config.data_dir, train=True)
    test_set = load_dataset(config.dataset, config.data_dir, train=False)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    retain_freed_memory()  # every step reuses the last one's pages (see autograd_cv.memory)
    ag.manual_seed(config.seed)
    model = build_model(config.model, info.image_shape, len(info.classes))
    optimizer = make_optimizer(config, model)
    progress = {"epoch": 0, "batch": 0, "loss_sum": 0.0, "correct": 0, "seen": 0,
                "seconds": 0.0, "history": []}  # fmt: skip
    if checkpoint is not None:
        model = restore_model(checkpoint, config.resume, expected_model=config.model)
        optimizer = make_optimizer(config, model)
        optimizer.load_state_dict(checkpoint["optimizer"])
        progress = json.loads(checkpoint["progress"])
        set_rng_state(checkpoint["rng"])
        log(f"resuming {config.resume} at epoch {progress['epoch'] + 1}, "
            f"batch {progress['batch']}")  # fmt: skip

    loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed,
                        transform=transforms(config.dataset, train=True))  # fmt: skip
    test_loader = DataLoader(test_set, 500, transform=transforms(config.dataset, train=False))
    checkpoint_path = out / "model.npz"
    steps = 0
    model.train()
    budget = ThreadBudget() if config.adapt_threads else None
    with _catch_stop_signals() as stop, _restoring(budget):
        log(f"training {config.model} on {config.dataset}: {len(train_set)} images, "
            f"{len(loader)} batches of {config.batch_size} per epoch; Ctrl-C saves a "
            f"resumable checkpoint to {checkpoint_path}")  # fmt: skip
        for epoch in range(progress["epoch"], config.epochs):
            started = time.perf_counter()
            loader.set_epoch(epoch)
            set_learning_rate(optimizer, config, epoch)
            bar = _progress_bar(len(loader), f"epoch {epoch + 1}/{config.epochs}", config.progress)
            bar.update(progress["batch"])
            for index, (images, labels) in enumerate(loader):
                if index < progress["batch"]:
                    continue  # replayed, not trained: keeps the data order of the first run
                if budget is not None:
                    budget.update()
                scores = forward(model, images)
                loss = loss_fn(model, scores, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                progress["batch"] = index + 1
                progress["loss_sum"] += loss.item() * len(labels)
                progress["correct"] += int((scores.numpy().argmax(axis=1) == labels.numpy()).sum())
                progress["seen"] += len(labels)
                steps += 1
                elapsed = progress["seconds"] + time.perf_counter() - started
                bar.set_postfix(loss=f"{progress['loss_sum'] / progress['seen']:.4f}",
                                acc=f"{progress['correct'] / progress['seen']:.3f}",
                                img_s=f"{progress['seen'] / max(elapsed, 1e-9):.0f}")  # fmt: skip
                bar.update(1)
                if stop.signal is not None or steps == config.stop_after_steps:
                    bar.close()
                    progress["seconds"] = elapsed
                    save_checkpoint(checkpoint_path, model, optimizer, config, progress)
                    raise Interrupted(checkpoint_path, stop.signal)
            bar.close()
            seconds = progress["seconds"] + time.perf_counter() - started
            test_accuracy, confusion = evaluate(model, test_loader, len(info.classes))
            record = {
                "epoch": epoch + 1,
                "train_loss": progress["loss_sum"] / max(progress["seen"], 1),
                "train_accuracy": progress["correct"] / max(progress["seen"], 1),
                "test_accuracy": test_accuracy,
                "seconds": seconds,
                "images_per_second": progress["seen"] / max(seconds, 1e-9),
            }
            history = progress["history"] + [record]
            progress = {"epoch": epoch + 1, "batch": 0, "loss_sum": 0.0, "correct": 0,
                        "seen": 0, "seconds": 0.0, "history": history}  # fmt: skip
            save_checkpoint(checkpoint_path, model, optimizer, config, progress)
            log(f"epoch {epoch + 1}/{config.epochs}  train loss {record['train_loss']:.4f}  "
                f"train acc {record['train_accuracy']:.4f}  test acc {test_accuracy:.4f}  "
                f"{seconds:.1f} s  {record['images_per_second']:.0f} img/s")  # fmt: skip

    history = progress["history"]
    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "test_accuracy": history[-1]["test_accuracy"] if history else None,
        "train_loss": [h["train_loss"] for h in history],
        "train_accuracy": [h["train_accuracy"] for h in history],
        "test_accuracy_per_epoch": [h["test_accuracy"] for h in history],
        "seconds": sum(h["seconds"] for h in history),
        "seconds_per_epoch": [h["seconds"] for h in history],
        "images_per_second": [h["images_per_second"] for h in history],
        "config": asdict(config),
    }
    write_json(out / "metrics.json", metrics)
    if history:
        plot_curves(history, out / "curves.png", title=f"{config.model} on {config.dataset}")
        _, confusion = evaluate(model, test_loader, len(info.classes))
        plot_confusion(confusion, info.classes, out / "confusion.png")
    if config.graph:
        write_graph(model, test_set, config, out / "graph.svg")
    metrics["model_object"] = model
    return metrics


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    with atomic_file(path, "w") as handle:
        json.dump(data, handle, indent=2)


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, side by side."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    # A bare Figure, not pyplot: no backend switch, so a notebook's inline plots keep working.
    figure = Figure(figsize=(9, 3.5))
    left, right = figure.subplots(1, 2)
    left.plot(epochs, [h["train_loss"] for h in history], "o-")
    left.set(xlabel="epoch", ylabel="train loss", title="loss")
    right.plot(epochs, [h["train_accuracy"] for h in history], "o-", label="train")
    right.plot(epochs, [h["test_accuracy"] for h in history], "s-", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    right.legend()
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_confusion(confusion: np.ndarray, classes: tuple[str, ...], path: Path) -> None:
    """The confusion matrix as a labelled heat map."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 5.5))
    axis = figure.subplots()
    image = axis.imshow(confusion, cmap="Blues")
    accuracy = np.trace(confusion) / confusion.sum()
    ticks = range(len(classes))
    axis.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true",
             title=f"accuracy {accuracy:.4f}")  # fmt: skip
    axis.set_xticklabels(classes, rotation=45, ha="right")
    axis.set_yticklabels(classes)
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            colour = "white" if count > confusion.max() / 2 else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def confusion_text(confusion: np.ndarray, classes: tuple[str, ...]) -> str:
    """The confusion matrix as aligned text (rows: true, columns: predicted)."""
    width = max(5, max(len(str(confusion.max())), 1) + 1)
    short = [c[: width - 1] for c in classes]
    lines = ["true \\ pred".ljust(14) + "".join(s.rjust(width) for s in short)]
    for name, row in zip(classes, confusion):
        lines.append(name[:13].ljust(14) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def write_graph(model: nn.Module, dataset: Any, config: TrainConfig, path: Path) -> bool:
    """Render the graph of one training step (batch of 2) when graphviz's `dot` exists."""
    import shutil

    if shutil.which("dot") is None:
        return False
    from autograd_cv import viz

    loader = DataLoader(dataset, 2, transform=transforms(config.dataset, train=False))
    images, labels = next(iter(loader))
    loss = loss_fn(model, forward(model, images), labels)
    graph = viz.draw_graph(loss, model=model)
    viz.render(graph, path)
    return True
