"""TensorBoard event files for `autograd-cv train --tensorboard DIR`, through tensorboardX.

tensorboardX is an optional extra (`pip install 'autograd-cv[tensorboard]'`): one small
pure-Python wheel that writes the event format. The viewer is TensorBoard itself
(`pip install tensorboard; tensorboard --logdir DIR`), which this module does not need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograd_cv.training.errors import UsageError

INSTALL = "pip install 'autograd-cv[tensorboard]' (or: pip install tensorboardX)"


def check_available() -> None:
    """Refuse --tensorboard up front, before any training, when tensorboardX is missing."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise UsageError(f"--tensorboard needs the tensorboardX package: {INSTALL}") from None


class ScalarLog:
    """Scalars by tag and step, written to a TensorBoard run folder (or nowhere: `None`)."""

    def __init__(self, directory: str | Path | None) -> None:
        self.writer: Any = None
        if directory is not None:
            check_available()
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(logdir=str(directory))

    def add(self, step: int, values: dict[str, float | None]) -> None:
        """One point at `step` per tag ("train/loss": 0.25); None values are left out."""
        if self.writer is None:
            return
        for tag, value in values.items():
            if value is not None:
                self.writer.add_scalar(tag, float(value), step)

    def __enter__(self) -> ScalarLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
