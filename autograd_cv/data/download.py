"""Fetching a dataset's published files from its mirrors, checked by md5 before they are kept."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from autograd_cv.data._files import ChecksumError, DatasetNotFoundError, write_atomically

# Base URLs tried in order. Override by editing these lists, or by setting
# AUTOGRAD_CV_MIRRORS_<NAME> (e.g. AUTOGRAD_CV_MIRRORS_MNIST, AUTOGRAD_CV_MIRRORS_FASHION_MNIST)
# to base URLs separated by spaces or commas; the variable wins over the list.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name and published md5."""

    name: str
    md5: str


def mirrors_for(dataset: str) -> list[str]:
    """The base URLs for `dataset`, from its environment variable if set, else `MIRRORS`."""
    env_name = "AUTOGRAD_CV_MIRRORS_" + dataset.upper().replace("-", "_")
    env = os.environ.get(env_name)
    if env:
        return env.replace(",", " ").split()
    return list(MIRRORS.get(dataset, []))


def missing_files_message(dataset: str, files: list[RemoteFile], folder: Path) -> str:
    """Tell a person which files to fetch, their md5s, and where to put them."""
    lines = [f"{dataset}: these files are needed in {folder}/ (or directly in {folder.parent}/):"]
    lines += [f"  {f.name}  md5 {f.md5}" for f in files]
    mirrors = mirrors_for(dataset)
    if mirrors:
        lines.append("They are published at: " + ", ".join(mirrors))
    return "\n".join(lines)


def download(dataset: str, files: list[RemoteFile], folder: Path) -> None:
    """Download each file into `folder`, trying the dataset's mirrors in order.

    A file is kept only after its md5 matches: it is written to a temporary file in `folder`
    and renamed into place. Raises ChecksumError if some mirror served wrong bytes and none
    served the right ones, DatasetNotFoundError if no mirror could be reached.
    """
    for i, remote in enumerate(files):
        _download_one(dataset, remote, folder, still_missing=files[i:])


def _download_one(
    dataset: str, remote: RemoteFile, folder: Path, still_missing: list[RemoteFile]
) -> None:
    attempts: list[str] = []
    bad_checksums: list[str] = []
    for base in mirrors_for(dataset):
        url = base if base.endswith("/") else base + "/"
        url += remote.name
        print(f"autograd_cv: downloading {url}", file=sys.stderr)
        try:
            write_atomically(folder / remote.name, partial(_fetch_checked, url, remote))
            return
        except ChecksumError as error:
            bad_checksums.append(str(error))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            attempts.append(f"  {url}: {getattr(error, 'reason', error)}")
    if bad_checksums:
        raise ChecksumError(
            f"{dataset}: no mirror served a correct {remote.name}, so it was not saved.\n"
            + "\n".join(bad_checksums + attempts)
        )
    tried = "\n".join(attempts) if attempts else "  (no mirrors configured)"
    raise DatasetNotFoundError(
        f"{dataset}: could not download {remote.name}. Tried:\n{tried}\n"
        + missing_files_message(dataset, still_missing, folder)
    )


def _fetch_checked(url: str, remote: RemoteFile, out) -> None:
    digest = hashlib.md5()
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    got = digest.hexdigest()
    if got != remote.md5:
        raise ChecksumError(f"  {url}: md5 {got}, expected {remote.md5}")
