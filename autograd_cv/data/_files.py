"""Where datasets live on disk, the errors users see, and writing files atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from autograd_cv.serialization import atomic_file

DATA_ENV = "AUTOGRAD_CV_DATA"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not on disk and could not be downloaded."""


class DatasetFormatError(ValueError):
    """A dataset file is there but its contents are not what its format promises."""


class ChecksumError(ValueError):
    """A downloaded file's md5 differs from the published one."""


def cache_root() -> Path:
    """The user cache folder: `$XDG_CACHE_HOME/autograd_cv`, else `~/.cache/autograd_cv`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "autograd_cv"


def data_root(root: str | os.PathLike | None) -> Path:
    """The folder datasets are looked up in: `root`, else `$AUTOGRAD_CV_DATA`, else the cache."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return cache_root()


def candidate_dirs(root: Path, subfolder: str) -> list[Path]:
    """Folders that may hold one dataset's files: `root/<subfolder>/` first, then `root/`."""
    return [root / subfolder, root]


def is_writable_dir(folder: Path) -> bool:
    """True if new files may be created in `folder`, creating it if needed.

    A folder without any write permission bit counts as read-only even for root, who could
    write there anyway: shared data folders are marked read-only that way.
    """
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            return False
        existing = existing.parent
    if not existing.is_dir() or not _allows_writing(existing):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return _allows_writing(folder)


def _allows_writing(folder: Path) -> bool:
    mode = folder.stat().st_mode
    return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(
        folder, os.W_OK | os.X_OK
    )


def write_atomically(path: Path, write: Callable[[object], None]) -> None:
    """Call `write(file)` on a temporary file beside `path`, then rename it onto `path`.

    Readers never see a half-written file: either the old one, none, or the complete new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        write(f)
