"""ImageFolder: images laid out as `[split/]<class>/<file>` in a folder or a `.zip`.

Decoding thousands of small images is slow, so the decoded arrays are cached as `.npy` files
in a folder `<source name>.cache/` beside the source, or, when that place is not writable,
under `<user cache>/decoded/`. The cache file names carry a key made from the source's path,
size and modification time (for a folder: of every image in it), so a changed source is
decoded afresh; stale cache files of the same source and split are removed.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np

from autograd_cv.data._files import (
    DatasetFormatError,
    DatasetNotFoundError,
    cache_root,
    is_writable_dir,
    write_atomically,
)
from autograd_cv.data.dataset import ArrayDataset, BatchTransform

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
_CACHE_VERSION = 1  # bump when the decoded layout changes, so old caches are ignored
_CACHED_ARRAYS = ("images", "labels", "files", "classes")
#: the largest image file read (as its size in the zip directory or on disk says)
MAX_IMAGE_FILE_BYTES = 64 << 20
#: the most memory the decoded images may take together
MAX_DECODED_BYTES = 4 << 30


class ImageFolder(ArrayDataset):
    """Images under `root_or_zip/[split/]<class>/`, labelled by class folder sorted by name.

    `root_or_zip` is a folder or a `.zip` file (a zip may also put everything under one top
    folder). 8-bit images are expected: if the first is grayscale all become (N, 1, H, W),
    else RGB (N, 3, H, W), uint8 (alpha dropped); all must share one size. Attributes:
    `classes` (sorted names), `class_to_idx`, `files` (each image's path inside the source,
    in sample order), `source`, `split`. With `image_size=(width, height)` every image's
    header is checked before it is decoded.
    """

    def __init__(
        self,
        root_or_zip: str | os.PathLike,
        split: str | None = None,
        transform: BatchTransform | None = None,
        image_size: tuple[int, int] | None = None,
    ) -> None:
        source = Path(root_or_zip).expanduser()
        if not source.exists():
            raise DatasetNotFoundError(f"ImageFolder: {source} does not exist")
        self.source = source
        self.split = split
        arrays = _load_cached(source, split, image_size)
        super().__init__(arrays["images"], arrays["labels"], transform)
        self.files = arrays["files"].tolist()
        self.classes = arrays["classes"].tolist()
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


def list_images(
    root_or_zip: str | os.PathLike, split: str | None = None
) -> tuple[list[str], np.ndarray, list[str]]:
    """Without decoding: image paths (sorted by class, then name), their labels, the classes."""
    source = Path(root_or_zip)
    if source.is_dir():
        return _group_by_class(_walk_folder(source), split, source)
    with _open_zip(source) as archive:
        return _group_by_class(_zip_members(archive), split, source)


def decode_images(
    root_or_zip: str | os.PathLike, files: list[str], image_size: tuple[int, int] | None = None
) -> np.ndarray:
    """Decode `files` (paths inside a folder or zip) into one uint8 array (N, C, H, W)."""
    source = Path(root_or_zip)
    if source.is_dir():
        return _decode_all(files, partial(_read_file, source), source, image_size)
    with _open_zip(source) as archive:
        return _decode_all(files, partial(_read_member, archive), source, image_size)


def _list_and_decode(
    source: Path, split: str | None, image_size: tuple[int, int] | None
) -> dict[str, np.ndarray]:
    """list_images then decode_images, opening a zip only once (reading its index is slow)."""
    if source.is_dir():
        files, labels, classes = _group_by_class(_walk_folder(source), split, source)
        images = _decode_all(files, partial(_read_file, source), source, image_size)
    else:
        with _open_zip(source) as archive:
            files, labels, classes = _group_by_class(_zip_members(archive), split, source)
            images = _decode_all(files, partial(_read_member, archive), source, image_size)
    return {
        "images": images,
        "labels": labels,
        "files": np.asarray(files, dtype=str),
        "classes": np.asarray(classes, dtype=str),
    }


def _group_by_class(
    members: list[str], split: str | None, source: Path
) -> tuple[list[str], np.ndarray, list[str]]:
    prefix = _find_prefix(members, split, source)
    by_class: dict[str, list[str]] = {}
    for member in members:
        if not member.startswith(prefix):
            continue
        parts = member[len(prefix) :].split("/")
        if len(parts) == 2 and PurePosixPath(parts[1]).suffix.lower() in IMAGE_SUFFIXES:
            by_class.setdefault(parts[0], []).append(member)
    if not by_class:
        where = f"{source}/{prefix}" if prefix else f"{source}/"
        raise DatasetNotFoundError(f"ImageFolder: no images in {where}<class>/<image file>")
    classes = sorted(by_class)
    files = [member for name in classes for member in sorted(by_class[name])]
    labels = np.repeat(np.arange(len(classes)), [len(by_class[name]) for name in classes])
    return files, labels.astype(np.int64), classes


def _zip_members(archive: zipfile.ZipFile) -> list[str]:
    return [name for name in archive.namelist() if not name.endswith("/")]


def _open_zip(source: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DatasetFormatError(f"{source}: not a readable zip ({error})") from None


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    """A zip member's bytes, refused by its declared size before anything is inflated."""
    size = archive.getinfo(member).file_size
    if size > MAX_IMAGE_FILE_BYTES:
        raise DatasetFormatError(
            f"{archive.filename}: {member} declares {size} bytes, more than the "
            f"{MAX_IMAGE_FILE_BYTES} allowed for one image"
        )
    # zipfile stops inflating at the declared size and checks the CRC at the end.
    return archive.read(member)


def _decode_all(
    files: list[str], read, source: Path, image_size: tuple[int, int] | None = None
) -> np.ndarray:
    from PIL import Image  # imported here: MNIST users and cached loads never need Pillow

    images: np.ndarray | None = None
    mode = "RGB"
    for i, member in enumerate(files):
        try:
            image = Image.open(io.BytesIO(read(member)), formats=_pillow_formats(member))
            # The header gives the size: refuse before decoding (or allocating) anything.
            if image_size is not None and image.size != tuple(image_size):
                raise DatasetFormatError(
                    f"{source}: {member} is {image.size[0]}x{image.size[1]} pixels, expected "
                    f"{image_size[0]}x{image_size[1]}"
                )
            if images is None:
                channels = 1 if image.mode in _GRAY_MODES else 3
                needed = len(files) * channels * image.size[0] * image.size[1]
                if needed > MAX_DECODED_BYTES:
                    raise DatasetFormatError(
                        f"{source}: {len(files)} images of {image.size[0]}x{image.size[1]} "
                        f"pixels would take {needed} bytes, more than {MAX_DECODED_BYTES}"
                    )
            if images is None:
                mode = "L" if image.mode in _GRAY_MODES else "RGB"
            if image.mode != mode:
                image = image.convert(mode)
            pixels = np.asarray(image)
        except DatasetFormatError:
            raise
        except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile,
                Image.DecompressionBombError) as error:  # fmt: skip
            raise DatasetFormatError(f"{source}: cannot decode {member} ({error})") from None
        if images is None:
            channels = 1 if mode == "L" else 3
            images = np.empty((len(files), channels, *pixels.shape[:2]), np.uint8)
        if pixels.shape[:2] != images.shape[2:]:
            raise DatasetFormatError(
                f"{source}: {member} is {pixels.shape[1]}x{pixels.shape[0]} pixels but "
                f"{files[0]} is {images.shape[3]}x{images.shape[2]}; all images must share a size"
            )
        images[i] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    assert images is not None  # list_images never returns an empty list
    return images


def _pillow_formats(member: str) -> tuple[str, ...] | None:
    """Tell Pillow the format up front when the suffix says it: skips probing every plugin."""
    suffix = PurePosixPath(member).suffix.lower()
    return {".png": ("PNG",), ".jpg": ("JPEG",), ".jpeg": ("JPEG",)}.get(suffix)


def _walk_folder(root: Path) -> list[str]:
    members = []
    for folder, _, names in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        members += [name if relative == "." else f"{relative}/{name}" for name in names]
    return members


def _find_prefix(members: list[str], split: str | None, source: Path) -> str:
    """`split/`, or `<top>/split/` when everything sits under one top folder."""
    prefix = f"{split}/" if split else ""
    if not prefix or any(m.startswith(prefix) for m in members):
        return prefix
    tops = {m.split("/", 1)[0] for m in members if "/" in m}
    if len(tops) == 1:
        nested = f"{tops.pop()}/{prefix}"
        if any(m.startswith(nested) for m in members):
            return nested
    raise DatasetNotFoundError(f"ImageFolder: {source} has no {prefix} folder")


def _fingerprint(source: Path) -> str:
    """Changes whenever the source's path, size or modification time (of any image) does."""
    resolved = source.resolve()
    digest = hashlib.sha1(f"v{_CACHE_VERSION}\0{resolved}".encode())
    if source.is_dir():
        for member in sorted(_walk_folder(source)):
            if PurePosixPath(member).suffix.lower() in IMAGE_SUFFIXES:
                stat = (source / member).stat()
                digest.update(f"\0{member}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    else:
        stat = source.stat()
        digest.update(f"\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_folder(source: Path) -> Path:
    """`<source>.cache/` beside the source, or under the user cache if that is read-only."""
    beside = source.parent / f"{source.name}.cache"
    if is_writable_dir(source.parent) and is_writable_dir(beside):
        return beside
    path_hash = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]
    return cache_root() / "decoded" / f"{source.name}-{path_hash}"


def _load_cached(
    source: Path, split: str | None, image_size: tuple[int, int] | None
) -> dict[str, np.ndarray]:
    folder = cache_folder(source)
    stem = f"{split or 'all'}-{_fingerprint(source)}"
    paths = {name: folder / f"{stem}-{name}.npy" for name in _CACHED_ARRAYS}
    if all(path.is_file() for path in paths.values()):
        try:
            return {name: np.load(path, allow_pickle=False) for name, path in paths.items()}
        except (OSError, ValueError):
            pass  # a damaged cache is rebuilt below
    arrays = _list_and_decode(source, split, image_size)
    if is_writable_dir(folder):
        for stale in folder.glob(f"{split or 'all'}-*.npy"):
            if not stale.name.startswith(stem):
                stale.unlink(missing_ok=True)
        for name, path in paths.items():
            write_atomically(path, partial(_save_array, arrays[name]))
    return arrays


def _read_file(root: Path, member: str) -> bytes:
    path = root / member
    if path.stat().st_size > MAX_IMAGE_FILE_BYTES:
        raise DatasetFormatError(
            f"{root}: {member} has {path.stat().st_size} bytes, more than the "
            f"{MAX_IMAGE_FILE_BYTES} allowed for one image"
        )
    return path.read_bytes()


def _save_array(array: np.ndarray, file) -> None:
    np.save(file, array, allow_pickle=False)
