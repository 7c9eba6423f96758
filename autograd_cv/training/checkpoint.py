"""Resumable checkpoints: model, optimizer, position in the epoch, history, generator state.

The data order is a function of (seed, epoch), so a run resumed from one replays the same
batches and reaches the same weights as a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import autograd_cv as ag
from autograd_cv import creation, nn, optim
from autograd_cv.training.config import TrainConfig
from autograd_cv.training.errors import UsageError
from autograd_cv.training.registry import DATASETS, build_model

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
    return checkpoint


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
    except (KeyError, ValueError, RuntimeError) as error:
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
