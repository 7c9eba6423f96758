"""Resumable checkpoints: model, optimizer, position in the epoch, history, generator state.

The data order is a function of (seed, epoch), so a run resumed from one replays the same
batches and reaches the same weights as a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import creation, nn, optim
from autograd_cv.training.config import TrainConfig
from autograd_cv.training.errors import UsageError
from autograd_cv.training.registry import DATASETS, MODELS, build_model

CHECKPOINT_FORMAT = "autograd_cv.checkpoint/1"


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
    try:
        _check_contents(checkpoint)
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise UsageError(f"checkpoint {str(path)!r} is damaged: {error}") from None
    return checkpoint


_PROGRESS = {"epoch": int, "batch": int, "loss_sum": float, "correct": int, "seen": int,
             "seconds": float, "history": list}  # fmt: skip
_RECORD = ("epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds",
           "images_per_second")  # fmt: skip


def _check_contents(checkpoint: dict) -> None:
    """Every part the loop and eval read is there, of the right kind, naming known things."""
    meta = checkpoint.get("meta")
    if not isinstance(meta, dict) or not all(
        isinstance(meta.get(key), str) for key in ("model", "dataset", "config")
    ):
        raise ValueError("its meta entry lacks the model, dataset or config")
    if meta["model"] not in MODELS:
        raise ValueError(f"it names an unknown model {meta['model']!r}")
    if meta["dataset"] not in DATASETS:
        raise ValueError(f"it names an unknown dataset {meta['dataset']!r}")
    if not isinstance(json.loads(meta["config"]), dict):
        raise ValueError("its config is not a JSON object")
    weights = checkpoint.get("model")
    if not isinstance(weights, dict) or not all(
        isinstance(v, np.ndarray) for v in weights.values()
    ):
        raise ValueError("its model entry is not a dict of arrays")
    if not isinstance(checkpoint.get("optimizer"), dict):
        raise ValueError("its optimizer entry is not a dict")
    progress = json.loads(checkpoint.get("progress"))
    if not isinstance(progress, dict):
        raise ValueError("its progress is not a JSON object")
    for key, kind in _PROGRESS.items():
        value = progress.get(key)
        if isinstance(value, bool) or not isinstance(
            value, (int, float) if kind is float else kind
        ):
            raise ValueError(f"its progress lacks a valid {key!r}")
        if kind is not list and not (0 <= value < 2**53):
            raise ValueError(f"its progress has {key!r} = {value}")
    for record in progress["history"]:
        if not isinstance(record, dict) or not all(
            isinstance(record.get(key), (int, float)) for key in _RECORD
        ):
            raise ValueError("its history has a damaged record")
    if not isinstance(json.loads(checkpoint.get("rng")), dict):
        raise ValueError("its generator state is not a JSON object")


def check_model(checkpoint: dict, path: str, expected_model: str) -> None:
    """Refuse a checkpoint of another model, naming both."""
    if checkpoint["meta"]["model"] != expected_model:
        raise UsageError(
            f"checkpoint {path!r} is for model {checkpoint['meta']['model']!r}, "
            f"not {expected_model!r}"
        )


def load_weights(model: nn.Module, checkpoint: dict, path: str) -> None:
    """Load the checkpoint's weights into `model`, refusing a mismatch clearly."""
    try:
        model.load_state_dict(checkpoint["model"])
    except (KeyError, ValueError, RuntimeError, TypeError) as error:
        name = checkpoint["meta"]["model"]
        raise UsageError(f"checkpoint {path!r} does not fit {name}: {error}") from None


def restore_model(checkpoint: dict, path: str, expected_model: str | None = None) -> nn.Module:
    """Build the checkpoint's model and load its weights, refusing a mismatch clearly."""
    if expected_model is not None:
        check_model(checkpoint, path, expected_model)
    meta = checkpoint["meta"]
    info = DATASETS[meta["dataset"]]
    model = build_model(meta["model"], info.image_shape, len(info.classes))
    load_weights(model, checkpoint, path)
    return model


def check_resumable(checkpoint: dict, path: str, config: TrainConfig) -> None:
    """Refuse to resume another model, dataset, optimizer or batch size than the run's.

    Another optimizer has other state, and another batch size would skip or repeat images.
    """
    check_model(checkpoint, path, config.model)
    if checkpoint["meta"]["dataset"] != config.dataset:
        raise UsageError(
            f"checkpoint {path!r} was trained on {checkpoint['meta']['dataset']!r}, "
            f"not {config.dataset!r}"
        )
    saved = json.loads(checkpoint["meta"]["config"])
    for key, option in (("optimizer", "--optimizer"), ("batch_size", "--batch-size")):
        if key in saved and saved[key] != getattr(config, key):
            raise UsageError(
                f"checkpoint {path!r} was trained with {option} {saved[key]}, not "
                f"{getattr(config, key)}; resume with the same {option}"
            )


def restore_training_state(checkpoint: dict, path: str, optimizer: optim.Optimizer) -> dict:
    """Load the optimizer's state and the generator's; the progress to resume from."""
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
        set_rng_state(checkpoint["rng"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as error:
        raise UsageError(
            f"checkpoint {path!r} is damaged: {type(error).__name__}: {error}"
        ) from None
    return json.loads(checkpoint["progress"])
