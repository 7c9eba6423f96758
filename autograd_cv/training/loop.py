"""The training loop: validates once, builds the model once, resumes bit for bit.

A checkpoint holds everything a run needs to continue exactly where it stopped (see
`autograd_cv.training.checkpoint`); SIGINT and SIGTERM stop after the current step and
write one.

Under `mpiexec -n N` the same loop runs data-parallel: each rank takes every N-th sample
of the epoch's order in batches of batch_size / N, so the N ranks' batches together are
the single-process batch, and `distributed.DistributedDataParallel` averages the
gradients. Only rank 0 prints and writes files; a signal to any rank stops all of them at
the same step. The checkpoint counts global batches, so a run resumes on any number of
ranks that divides the batch size.
"""

from __future__ import annotations

import math
import os
import signal
import stat
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

import autograd_cv as ag
from autograd_cv import distributed, nn
from autograd_cv.data import DataLoader
from autograd_cv.memory import retain_freed_memory
from autograd_cv.threads import ThreadBudget
from autograd_cv.training.checkpoint import (
    check_resumable,
    load_weights,
    read_checkpoint,
    restore_training_state,
    save_checkpoint,
)
from autograd_cv.training.config import TrainConfig, make_optimizer, set_learning_rate
from autograd_cv.training.errors import Diverged, Interrupted, UsageError
from autograd_cv.training.registry import (
    DATASETS,
    build_model,
    forward,
    loss_fn,
    pick_device,
    transforms,
)
from autograd_cv.training.report import plot_confusion, plot_curves, write_graph, write_json
from autograd_cv.training.tensorboard import ScalarLog


def load_dataset(name: str, data_dir: str | None, train: bool) -> Any:
    """The named dataset's split, with clear errors for a missing folder or missing files."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    if data_dir is not None and not Path(data_dir).exists():
        raise UsageError(f"data folder {data_dir!r} does not exist")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UsageError(f"data folder {data_dir!r} is a file, not a folder")
    try:
        return DATASETS[name].load(data_dir, train)
    except PermissionError as error:
        raise UsageError(f"cannot read the {name} data: {error}") from None
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise UsageError(str(error).replace("\n", " ")) from None


# ----- the output folder -------------------------------------------------------------------
def check_out(config: TrainConfig) -> None:
    """Refuse an --out that cannot be written, or that holds a model we would overwrite."""
    out = Path(config.out)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == out else f"is under the file {str(existing)!r}"
        raise UsageError(f"--out {config.out!r} {where}, not a folder")
    mode = existing.stat().st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        existing, os.W_OK | os.X_OK
    ):
        raise UsageError(f"--out {config.out!r}: the folder {str(existing)!r} is not writable")
    model = out / "model.npz"
    if model.exists() and not config.force and config.resume is None:
        raise UsageError(
            f"{str(model)!r} already exists; pass --force to overwrite it, or --resume "
            f"{model} to continue that run"
        )


def make_out(config: TrainConfig) -> Path:
    """Create --out; remove temporary files a killed run left there."""
    out = Path(config.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create --out {config.out!r}: {error.strerror}") from None
    for stale in [*out.glob(".model.npz.*.tmp"), *out.glob(".metrics.json.*.tmp")]:
        stale.unlink(missing_ok=True)
    return out


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


# ----- the loop ---------------------------------------------------------------------------
def evaluate(
    model: nn.Module, loader: DataLoader, num_classes: int, losses: list[float] | None = None
) -> tuple[float, np.ndarray]:
    """Accuracy and confusion matrix (rows: true class, columns: predicted); the mean loss is
    appended to `losses` when given."""
    model.eval()
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    loss_sum = 0.0
    with ag.no_grad():
        for images, labels in loader:
            scores = forward(model, images)
            if losses is not None:
                loss_sum += loss_fn(model, scores, labels).item() * len(labels)
            np.add.at(confusion, (labels.numpy(), scores.cpu().numpy().argmax(axis=1)), 1)
    model.train()
    if losses is not None:
        losses.append(loss_sum / max(int(confusion.sum()), 1))
    return float(np.trace(confusion) / max(confusion.sum(), 1)), confusion


STEP_COLUMNS = "epoch,batch,step,loss,lr\n"


def open_step_log(path: Path, resumed_step: int | None) -> Any:
    """metrics.csv, one row per optimizer step: fresh for a new run; for a resumed run the
    rows up to the checkpoint's step are kept (later ones were not in the checkpoint)."""
    kept = []
    if resumed_step is not None and path.is_file():
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(",")
            if len(fields) == 5 and fields[2].isdigit() and int(fields[2]) <= resumed_step:
                kept.append(line + "\n")
    handle = open(path, "w", buffering=1)  # noqa: SIM115 - closed by the caller's finally
    handle.write(STEP_COLUMNS)
    handle.writelines(kept)
    return handle


def read_step_log(path: Path) -> list[tuple[float, float]]:
    """(epoch as a fraction, loss) for every step logged in metrics.csv."""
    rows = []
    with open(path) as handle:
        next(handle, None)
        for line in handle:
            epoch, batch, _, loss, _ = line.split(",")
            rows.append((int(epoch), int(batch), float(loss)))
    per_epoch: dict[int, int] = {}
    for epoch, batch, _ in rows:
        per_epoch[epoch] = max(per_epoch.get(epoch, 0), batch)
    return [(epoch - 1 + batch / per_epoch[epoch], loss) for epoch, batch, loss in rows]


def _progress_bar(total: int, description: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="batch", leave=False, file=sys.stderr,
                disable=None if enabled else True, dynamic_ncols=True)  # fmt: skip


def _quiet(message: str) -> None:
    """The log of ranks other than 0."""


def _shared_counts(loss_sum: float, correct: int, seen: int, stop: bool) -> tuple:
    """One step's loss sum, correct and seen over all ranks, and whether any rank must stop."""
    counts = np.array([loss_sum, correct, seen, stop], dtype=np.float64)
    distributed.all_reduce(counts)  # one tiny allreduce a step; identity in a world of one
    return float(counts[0]), int(counts[1]), int(counts[2]), bool(counts[3])


def _test_loader(test_set: Any, dataset: str, world: distributed.World) -> DataLoader:
    """Batches of 500 test images; with N ranks, each takes every N-th image."""
    shard = None if world.size == 1 else range(world.rank, len(test_set), world.size)
    return DataLoader(test_set, 500, transform=transforms(dataset, train=False), sampler=shard)


def _evaluate_shared(
    model: nn.Module, loader: DataLoader, classes: int, losses: list[float] | None = None
) -> tuple:
    """`evaluate` on this rank's share of the test set, confusion matrices summed over ranks
    (and the mean test loss over all ranks appended to `losses` when given)."""
    rank_losses: list[float] = []
    _, confusion = evaluate(model, loader, classes, rank_losses if losses is not None else None)
    seen = int(confusion.sum())
    distributed.all_reduce(confusion)
    if losses is not None:
        loss_sum = distributed.all_reduce([rank_losses[0] * seen])[0]
        losses.append(float(loss_sum) / max(int(confusion.sum()), 1))
    return float(np.trace(confusion) / max(confusion.sum(), 1)), confusion


@contextmanager
def _restoring(budget: ThreadBudget | None) -> Iterator[None]:
    """Give the thread pools all cores back when training ends, however it ends."""
    try:
        yield
    finally:
        if budget is not None:
            budget.restore()


def train(config: TrainConfig, log: Callable[[str], None] = print) -> dict:
    """Train as configured; write model.npz, metrics.json, curves.png and graph.svg to `out`.

    Under mpiexec, every rank calls this; it trains data-parallel and rank 0 writes. A task
    model (`training.tasks.TASKS`: fcn, rcnn, ...) is trained by `tasks.train_task` instead.
    """
    from autograd_cv.training.tasks import TASKS, train_task

    if config.model in TASKS:
        if config.device == "cuda":
            raise UsageError(f"--device cuda: the task models ({', '.join(TASKS)}) train on "
                             f"the CPU only; leave --device out or give cpu")  # fmt: skip
        return train_task(config, log)
    info = config.validate()
    device = pick_device(config.device)
    world = distributed.init()
    if config.batch_size % world.size:
        raise UsageError(f"--batch-size {config.batch_size} must be a multiple of the "
                         f"{world.size} processes, which share each batch")  # fmt: skip
    if world.size > 1 and device != "cpu":
        raise UsageError("--device cuda: data-parallel training over MPI runs on the CPU; "
                         "give --device cpu")  # fmt: skip
    main_process = world.rank == 0
    if not main_process:
        log = _quiet
    checkpoint = read_checkpoint(config.resume) if config.resume else None
    if checkpoint is not None:
        check_resumable(checkpoint, config.resume, config)
    check_out(config)
    train_set = load_dataset(config.dataset, config.data_dir, train=True)
    test_set = load_dataset(config.dataset, config.data_dir, train=False)
    out = make_out(config) if main_process else Path(config.out)

    retain_freed_memory()  # every step reuses the last one's pages (see autograd_cv.memory)
    ag.manual_seed(config.seed)
    model = build_model(config.model, info.image_shape, len(info.classes))
    progress = {"epoch": 0, "batch": 0, "loss_sum": 0.0, "correct": 0, "seen": 0,
                "seconds": 0.0, "history": []}  # fmt: skip
    if checkpoint is not None:
        load_weights(model, checkpoint, config.resume)
    model.to(device)  # before the optimizer: its state lives where the parameters do
    optimizer = make_optimizer(config, model)
    if checkpoint is not None:
        progress = restore_training_state(checkpoint, config.resume, optimizer)
        log(f"resuming {config.resume} at epoch {progress['epoch'] + 1}, "
            f"batch {progress['batch']}")  # fmt: skip

    augment = transforms(config.dataset, train=True)
    if world.size == 1:
        loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed,
                            transform=augment)  # fmt: skip
        stepped = model
    else:
        sampler = distributed.DistributedSampler(train_set, shuffle=True, seed=config.seed)
        loader = DataLoader(train_set, config.batch_size // world.size, sampler=sampler,
                            transform=augment)  # fmt: skip
        stepped = distributed.DistributedDataParallel(model)
    test_loader = _test_loader(test_set, config.dataset, world)
    checkpoint_path = out / "model.npz"
    steps = 0
    model.train()
    resumed_step = (
        progress["epoch"] * len(loader) + progress["batch"] if checkpoint is not None else None
    )
    # Rank 0 alone keeps metrics.csv; the other ranks write their rows nowhere.
    step_log = (
        open_step_log(out / "metrics.csv", resumed_step) if main_process else open(os.devnull, "w")
    )
    budget = ThreadBudget() if config.adapt_threads else None
    board = ScalarLog(config.tensorboard if main_process else None)
    with step_log, board, _catch_stop_signals() as stop, _restoring(budget):
        ranks = f" on {world.size} processes" if world.size > 1 else ""
        ranks += " on the GPU" if device == "cuda" else ""
        log(f"training {config.model} on {config.dataset}{ranks}: {len(train_set)} images, "
            f"{len(loader)} batches of {config.batch_size} per epoch; Ctrl-C saves a "
            f"resumable checkpoint to {checkpoint_path}")  # fmt: skip
        for epoch in range(progress["epoch"], config.epochs):
            started = time.perf_counter()
            loader.set_epoch(epoch)
            set_learning_rate(optimizer, config, epoch)
            bar = _progress_bar(len(loader), f"epoch {epoch + 1}/{config.epochs}",
                                config.progress and main_process)  # fmt: skip
            bar.update(progress["batch"])
            for index, (images, labels) in enumerate(loader):
                if index < progress["batch"]:
                    continue  # replayed, not trained: keeps the data order of the first run
                if budget is not None:
                    budget.update()
                scores = forward(stepped, images)
                loss = loss_fn(model, scores, labels)
                loss_value = loss.item()
                if world.size == 1 and not math.isfinite(loss_value):
                    bar.close()
                    raise Diverged(_diverged_message(loss_value, epoch, index, checkpoint_path))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1
                loss_sum, correct, seen, stopping = _shared_counts(
                    loss_value * len(labels),
                    int((scores.cpu().numpy().argmax(axis=1) == labels.numpy()).sum()),
                    len(labels),
                    stop.signal is not None or steps == config.stop_after_steps,
                )
                if not math.isfinite(loss_sum):  # some rank's loss: every rank stops here
                    bar.close()
                    raise Diverged(_diverged_message(loss_sum, epoch, index, checkpoint_path))
                progress["batch"] = index + 1
                step = epoch * len(loader) + index + 1
                lr = optimizer.param_groups[0]["lr"]
                batch_loss = loss_sum / max(seen, 1)
                step_log.write(f"{epoch + 1},{index + 1},{step},{batch_loss:.6g},{lr:.6g}\n")
                board.add(step, {"train/loss": batch_loss, "train/lr": lr})
                progress["loss_sum"] += loss_sum
                progress["correct"] += correct
                progress["seen"] += seen
                elapsed = progress["seconds"] + time.perf_counter() - started
                bar.set_postfix(loss=f"{progress['loss_sum'] / progress['seen']:.4f}",
                                acc=f"{progress['correct'] / progress['seen']:.3f}",
                                img_s=f"{progress['seen'] / max(elapsed, 1e-9):.0f}")  # fmt: skip
                bar.update(1)
                if stopping:  # on every rank at the same step, whichever rank was stopped
                    bar.close()
                    progress["seconds"] = elapsed
                    if main_process:
                        save_checkpoint(checkpoint_path, model, optimizer, config, progress)
                    # Every rank reports the signal that stopped the run (0: stop_after_steps);
                    # no rank leaves before rank 0 has written the checkpoint.
                    signum = int(distributed.all_reduce([stop.signal or 0], op="max")[0])
                    raise Interrupted(checkpoint_path, signum or None)
            bar.close()
            seconds = progress["seconds"] + time.perf_counter() - started
            test_losses: list[float] = []
            test_accuracy, confusion = _evaluate_shared(
                model, test_loader, len(info.classes), test_losses
            )
            record = {
                "test_loss": test_losses[0],
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
            if main_process:
                save_checkpoint(checkpoint_path, model, optimizer, config, progress)
            board.add((epoch + 1) * len(loader), {
                "epoch/train_loss": record["train_loss"],
                "epoch/train_accuracy": record["train_accuracy"],
                "epoch/test_loss": record["test_loss"],
                "epoch/test_accuracy": test_accuracy,
            })  # fmt: skip
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
        "test_loss_per_epoch": [h.get("test_loss") for h in history],
        "seconds": sum(h["seconds"] for h in history),
        "seconds_per_epoch": [h["seconds"] for h in history],
        "images_per_second": [h["images_per_second"] for h in history],
        "config": {**asdict(config), "lr": config.learning_rate()},
        "device": device,
        # What actually ran: `config` keeps None where a default was chosen (lr).
        "hyperparameters": {
            "optimizer": config.optimizer,
            "lr": config.learning_rate(),
            "momentum": config.momentum if config.optimizer == "sgd" else None,
            "weight_decay": config.weight_decay,
            "batch_size": config.batch_size,
            "epochs": config.epochs,
            "schedule": config.schedule,
            "seed": config.seed,
        },  # fmt: skip
    }
    if history:
        _, confusion = _evaluate_shared(model, test_loader, len(info.classes))
    if main_process:
        write_json(out / "metrics.json", metrics)
        if history:
            plot_curves(history, out / "curves.png", title=f"{config.model} on {config.dataset}",
                        steps=read_step_log(out / "metrics.csv"))  # fmt: skip
            plot_confusion(confusion, info.classes, out / "confusion.png")
        if config.graph:
            write_graph(model, test_set, config.dataset, out / "graph.svg", log)
    distributed.barrier()
    metrics["model_object"] = model
    return metrics


def _diverged_message(loss: float, epoch: int, index: int, checkpoint: Path) -> str:
    kept = (
        f"the last good checkpoint, {checkpoint}, is kept"
        if checkpoint.exists()
        else "no checkpoint was written"
    )
    return (
        f"the loss became {loss} at epoch {epoch + 1}, batch {index + 1}; training stopped "
        f"and {kept}. Try a smaller --lr"
    )
