"""What the training commands raise for the command line to turn into one line and an exit code."""

from __future__ import annotations

from pathlib import Path


class UsageError(Exception):
    """A problem with what the user asked for; the command line prints it as one line."""


class Interrupted(Exception):
    """Training stopped early; a resumable checkpoint was written."""

    def __init__(self, checkpoint: Path, signum: int | None) -> None:
        super().__init__(str(checkpoint))
        self.checkpoint = checkpoint
        self.signum = signum


class Diverged(Exception):
    """The loss became NaN or infinite; training stopped without saving the damaged model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
