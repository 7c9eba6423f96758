"""Hostile dataset files: bombs cost bounded memory, damaged or wrong content a clear error.

The bombs are built here at run time (a gzip or deflate stream of zeros), never committed.
Memory is measured in a fresh process (its peak RSS), with a generous ceiling: importing
the package alone takes about 160 MB.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from autograd_cv.data import CIFAR10, MNIST, DatasetFormatError, ImageFolder

CEILING_MB = 300
BOMB_BYTES = 512 << 20


# The peak of this process's own memory, VmHWM: ru_maxrss would also count the pytest process
# the child was forked from (Linux carries the high-water mark across exec).
PRINT_PEAK_RSS = (
    "import re\n"
    "status = open('/proc/self/status').read()\n"
    "print('peak', int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024)\n"
)


def peak_rss_mb(code: str) -> tuple[float, str]:
    """Run `code` in a fresh interpreter; its peak RSS in MB and what it printed."""
    script = code + "\n" + PRINT_PEAK_RSS
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    peak = float(done.stdout.rsplit("peak ", 1)[1])
    return peak, done.stdout


def idx_header(magic: int, shape: tuple[int, ...]) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in shape)


def write_mnist(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(idx_header(2051, images.shape) + images.astype(np.uint8).tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(idx_header(2049, labels.shape) + labels.astype(np.uint8).tobytes())


def test_mnist_gzip_bomb_stops_inflating_at_the_declared_size(tmp_path: Path) -> None:
    write_mnist(tmp_path, np.zeros((200, 28, 28)), np.zeros(200))
    chunk = bytes(1 << 22)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(idx_header(2051, (200, 28, 28)))  # says 156,800 bytes follow ...
        for _ in range(BOMB_BYTES // len(chunk)):  # ... then 512 MB of them
            f.write(chunk)
    assert (tmp_path / "train-images-idx3-ubyte.gz").stat().st_size < 4 << 20
    peak, printed = peak_rss_mb(
        "from autograd_cv.data import MNIST\n"
        "try:\n"
        f"    MNIST({str(tmp_path)!r}, download=False)\n"
        "except ValueError as error:\n"
        "    print('refused', error)\n"
    )
    assert "refused" in printed and "or more" in printed
    assert peak < CEILING_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((3, 28, 28)), np.array([0, 10, 1]), "label 1 is 10"),
        (np.zeros((3, 32, 32)), np.zeros(3), "28x28"),
        (np.zeros((0, 28, 28)), np.zeros(0), "one or more"),
    ],
)
def test_mnist_content_is_validated_on_load(tmp_path: Path, images, labels, message) -> None:
    write_mnist(tmp_path, images, labels)
    with pytest.raises(DatasetFormatError, match=message):
        MNIST(tmp_path, download=False)


def test_mnist_corrupt_gzip_is_a_format_error(tmp_path: Path) -> None:
    write_mnist(tmp_path, np.zeros((3, 28, 28)), np.zeros(3))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    payload = bytearray(path.read_bytes())
    payload[-8:-4] = b"\xff" * 4  # the stored CRC of the inflated data
    path.write_bytes(bytes(payload))
    with pytest.raises(DatasetFormatError, match="cannot read as IDX"):
        MNIST(tmp_path, download=False)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a tiny (wrong) image data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b""))  # fmt: skip


def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "size, message",
    [
        ((20000, 20000), "decompression bomb"),  # Pillow's own limit, as a format error
        ((9000, 9000), "9000x9000 pixels, expected 32x32"),
        ((33, 32), "33x32 pixels, expected 32x32"),
    ],
)
def test_cifar_png_header_dimensions_are_checked_before_decoding(
    tmp_path: Path, size, message
) -> None:
    zip_with(tmp_path / "cifar-bad.zip", {"train/airplane/0.png": png_header_only(*size)})
    with pytest.raises(DatasetFormatError, match=message):
        CIFAR10(tmp_path, train=True)


def test_image_folder_decompression_bomb_is_a_format_error(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "pics.zip", {"a/0.png": png_header_only(20000, 20000)})
    with pytest.raises(DatasetFormatError, match="cannot decode a/0.png"):
        ImageFolder(source)


def test_cifar_zip_deflate_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    bomb = tmp_path / "cifar-bomb.zip"
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("train/airplane/0.png", "w", force_zip64=True) as member:
            for _ in range(BOMB_BYTES // len(chunk)):
                member.write(chunk)
    assert bomb.stat().st_size < 4 << 20
    peak, printed = peak_rss_mb(
        "from autograd_cv.data import CIFAR10\n"
        "try:\n"
        f"    CIFAR10({str(tmp_path)!r})\n"
        "except ValueError as error:\n"
        "    print('refused', error)\n"
    )
    assert "refused" in printed and "allowed for one image" in printed
    assert peak < CEILING_MB, f"peak RSS {peak:.0f} MB"


def test_cifar_zip_damage_is_a_format_error(tmp_path: Path) -> None:
    from PIL import Image

    buffer = __import__("io").BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buffer, format="PNG")
    good = zip_with(tmp_path / "cifar-good.zip", {"train/airplane/0.png": buffer.getvalue()})
    payload = good.read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "cifar-cut.zip").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DatasetFormatError, match="not a readable zip"):
        CIFAR10(tmp_path / "cut")
    flipped = bytearray(payload)
    start = flipped.find(b"0.png") + len("0.png") + 10  # inside the compressed member
    flipped[start : start + 20] = b"\x00" * 20
    (tmp_path / "flip").mkdir()
    (tmp_path / "flip" / "cifar-flip.zip").write_bytes(bytes(flipped))
    with pytest.raises(DatasetFormatError, match="cannot decode"):
        CIFAR10(tmp_path / "flip")
