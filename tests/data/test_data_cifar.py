"""CIFAR-10 (binary batches, image folders, zips), ImageFolder and its .npy cache."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import autograd_cv.data.image_folder as image_folder_module
from autograd_cv.data import (
    CIFAR10,
    DatasetFormatError,
    DatasetNotFoundError,
    ImageFolder,
    read_cifar_bin,
)
from autograd_cv.data.image_folder import cache_folder, decode_images, list_images

CLASSES = CIFAR10.classes


def random_images(n: int, seed: int = 0, channels: int = 3, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, channels, size, size), np.uint8)


def png_bytes(image_chw: np.ndarray) -> bytes:
    pixels = image_chw[0] if image_chw.shape[0] == 1 else image_chw.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_cifar_bin(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    records = np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)], 1)
    path.write_bytes(records.tobytes())


def make_image_zip(path: Path, per_class: dict[str, dict[str, int]], seed: int = 0) -> dict:
    """A zip laid out split/class/name.png; returns {member: image} for checking."""
    rng_seed = seed
    written = {}
    with zipfile.ZipFile(path, "w") as archive:
        for split, counts in per_class.items():
            for name, count in counts.items():
                images = random_images(count, seed=rng_seed)
                rng_seed += 1
                for i, image in enumerate(images):
                    member = f"{split}/{name}/img_{i:03d}.png"
                    archive.writestr(member, png_bytes(image))
                    written[member] = image
    return written


# ---------------------------------------------------------------- binary batches


def test_read_cifar_bin_round_trip(tmp_path):
    images, labels = random_images(7), np.arange(7) % 10
    write_cifar_bin(tmp_path / "batch.bin", images, labels)
    got_images, got_labels = read_cifar_bin(tmp_path / "batch.bin")
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels.tolist()


def test_read_cifar_bin_rejects_bad_sizes_and_labels(tmp_path):
    path = tmp_path / "short.bin"
    path.write_bytes(bytes(3073 * 2 - 1))
    with pytest.raises(DatasetFormatError, match=r"short\.bin: 6145 bytes .* 3073-byte"):
        read_cifar_bin(path)
    write_cifar_bin(path, random_images(3), np.array([1, 12, 3]))
    with pytest.raises(DatasetFormatError, match=r"record 1 has label 12"):
        read_cifar_bin(path)


def test_cifar10_from_binary_batches(tmp_path):
    folder = tmp_path / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    batches = [(random_images(4, seed=i), np.arange(4) + i) for i in range(6)]
    for i, (images, labels) in enumerate(batches[:5], start=1):
        write_cifar_bin(folder / f"data_batch_{i}.bin", images, labels)
    write_cifar_bin(folder / "test_batch.bin", *batches[5])
    train, test = CIFAR10(tmp_path, train=True), CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(train.images, np.concatenate([b[0] for b in batches[:5]]))
    assert train.labels.tolist() == np.concatenate([b[1] for b in batches[:5]]).tolist()
    np.testing.assert_array_equal(test.images, batches[5][0])
    assert test.source == folder


def test_cifar10_missing_lists_accepted_layouts(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"cifar-10-batches-bin.*\n.*train/<class>"):
        CIFAR10(tmp_path)


# ---------------------------------------------------------------- ImageFolder and its cache


def test_image_folder_from_zip_sorted_classes_and_pixels(tmp_path):
    zip_path = tmp_path / "pets.zip"
    written = make_image_zip(zip_path, {"train": {"dog": 3, "cat": 2}, "test": {"cat": 1}})
    train = ImageFolder(zip_path, split="train")
    assert train.classes == ["cat", "dog"]
    assert train.labels.tolist() == [0, 0, 1, 1, 1]
    assert train.images.shape == (5, 3, 32, 32) and train.images.dtype == np.uint8
    for member, image in zip(train.files, train.images, strict=True):
        np.testing.assert_array_equal(image, written[member])
    assert len(ImageFolder(zip_path, split="test")) == 1


def test_image_folder_from_directory_grayscale_and_nested_zip(tmp_path):
    root = tmp_path / "digits"
    images = random_images(4, channels=1, size=8)
    for i, image in enumerate(images):
        (root / str(i % 2)).mkdir(parents=True, exist_ok=True)
        (root / str(i % 2) / f"{i}.png").write_bytes(png_bytes(image))
    (root / "notes.txt").write_text("not a class")
    folder = ImageFolder(root)
    assert folder.images.shape == (4, 1, 8, 8)
    assert folder.files == ["0/0.png", "0/2.png", "1/1.png", "1/3.png"]
    np.testing.assert_array_equal(folder.images, images[[0, 2, 1, 3]])
    # A zip with everything under one top folder works too.
    with zipfile.ZipFile(tmp_path / "nested.zip", "w") as archive:
        archive.writestr("top/train/a/x.png", png_bytes(images[0]))
    assert ImageFolder(tmp_path / "nested.zip", split="train").classes == ["a"]


def test_image_folder_mixed_sizes_name_both_files(tmp_path):
    with zipfile.ZipFile(tmp_path / "mixed.zip", "w") as archive:
        archive.writestr("a/big.png", png_bytes(random_images(1, size=8)[0]))
        archive.writestr("b/small.png", png_bytes(random_images(1, size=4)[0]))
    with pytest.raises(DatasetFormatError, match=r"b/small\.png is 4x4 .* a/big\.png is 8x8"):
        ImageFolder(tmp_path / "mixed.zip")


def test_cache_second_load_identical_without_decoding(tmp_path, monkeypatch):
    zip_path = tmp_path / "set.zip"
    make_image_zip(zip_path, {"train": {"a": 3, "b": 2}})
    first = ImageFolder(zip_path, split="train")
    cached = sorted(p.name for p in cache_folder(zip_path).iterdir())
    assert cache_folder(zip_path) == tmp_path / "set.zip.cache"
    assert [name.split("-")[-1] for name in cached] == [
        "classes.npy",
        "files.npy",
        "images.npy",
        "labels.npy",
    ]

    def must_not_decode(*args):
        raise AssertionError("the second load must come from the cache")

    monkeypatch.setattr(image_folder_module, "_decode_all", must_not_decode)
    second = ImageFolder(zip_path, split="train")
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.files == first.files and second.classes == first.classes


def test_cache_invalidated_when_source_changes(tmp_path):
    zip_path = tmp_path / "set.zip"
    make_image_zip(zip_path, {"train": {"a": 2}}, seed=0)
    first = ImageFolder(zip_path, split="train")
    make_image_zip(zip_path, {"train": {"a": 2, "b": 1}}, seed=10)
    stat = zip_path.stat()
    os.utime(zip_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # coarse clocks
    second = ImageFolder(zip_path, split="train")
    assert len(second) == 3 and second.classes == ["a", "b"]
    assert not np.array_equal(second.images[:2], first.images)
    # The stale cache files were removed; only the current set is left.
    assert len(list(cache_folder(zip_path).glob("train-*.npy"))) == 4


def test_cache_goes_to_user_cache_when_source_folder_is_read_only(tmp_path, private_cache):
    source_dir = tmp_path / "readonly"
    source_dir.mkdir()
    make_image_zip(source_dir / "set.zip", {"train": {"a": 2}})
    source_dir.chmod(0o555)
    try:
        folder = ImageFolder(source_dir / "set.zip", split="train")
        assert sorted(p.name for p in source_dir.iterdir()) == ["set.zip"]
        cached = list((private_cache / "decoded").glob("set.zip-*/train-*-images.npy"))
        assert len(cached) == 1
        np.testing.assert_array_equal(np.load(cached[0], allow_pickle=False), folder.images)
    finally:
        source_dir.chmod(0o755)


def test_cifar10_from_small_zip_checks_classes(tmp_path):
    make_image_zip(tmp_path / "cifar-10-small.zip", {"test": {name: 1 for name in CLASSES}})
    test = CIFAR10(tmp_path, train=False)
    assert test.labels.tolist() == list(range(10))
    # root/cifar-10/ is searched before root/ itself.
    (tmp_path / "cifar-10").mkdir()
    make_image_zip(tmp_path / "cifar-10" / "cifar-other.zip", {"test": {"cat": 1}})
    with pytest.raises(DatasetFormatError, match="not CIFAR-10's"):
        CIFAR10(tmp_path, train=False)


# ---------------------------------------------------------------- the real CIFAR-10 zip


def real_zip(cifar_root: Path) -> Path:
    return cifar_root / "cifar-10" / "cifar-10-png-by-class.zip"


def first_rows_of_data_batch_1(cifar_root: Path, count: int) -> list[dict]:
    with open(cifar_root / "cifar-10" / "data_batch_1_first4000_order.csv", newline="") as f:
        return [row for row, _ in zip(csv.DictReader(f), range(count), strict=False)]


def test_real_zip_listing_counts(cifar_root):
    train_files, train_labels, classes = list_images(real_zip(cifar_root), "train")
    test_files, test_labels, _ = list_images(real_zip(cifar_root), "test")
    assert classes == CLASSES
    assert np.bincount(train_labels).tolist() == [5000] * 10
    assert np.bincount(test_labels).tolist() == [1000] * 10
    assert "test/cat/domestic_cat_s_000907.png" in test_files
    assert "test/ship/hydrofoil_s_000078.png" in test_files


def test_real_zip_known_pixels_of_data_batch_1(cifar_root):
    rows = first_rows_of_data_batch_1(cifar_root, 5)
    assert [int(row["label"]) for row in rows] == [6, 9, 9, 4, 1]
    images = decode_images(real_zip(cifar_root), [row["png_path_in_zip"] for row in rows])
    assert rows[0]["png_path_in_zip"].endswith("leptodactylus_pentadactylus_s_000004.png")
    assert images[0, 0, 0, 0:3].tolist() == [59, 43, 50]  # image 0, red, row 0
    assert images[0, 2, 31, 29:32].tolist() == [140, 84, 72]  # image 0, blue, row 31
    assert images[1, 0, 0, 0:3].tolist() == [154, 126, 105]
    assert images[1, 2, 31, 29:32].tolist() == [139, 142, 144]


@pytest.mark.slow
def test_real_cifar10_full_load_and_cache(cifar_full, cifar_root, monkeypatch):
    train, test, cache, first_seconds = cifar_full
    assert train.images.shape == (50000, 3, 32, 32) and test.images.shape == (10000, 3, 32, 32)
    assert np.bincount(train.labels).tolist() == [5000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    # The csv maps data_batch_1 positions to zip paths; those images carry the csv's labels.
    rows = first_rows_of_data_batch_1(cifar_root, 4000)
    position = {path: i for i, path in enumerate(train.files)}
    indices = [position[row["png_path_in_zip"]] for row in rows]
    assert train.labels[indices].tolist() == [int(row["label"]) for row in rows]
    assert train.labels[indices[:10]].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert train.images[indices[0], 0, 0, :3].tolist() == [59, 43, 50]
    # The shared folder is read-only, so the cache went to the user cache folder.
    assert not (real_zip(cifar_root).parent / "cifar-10-png-by-class.zip.cache").exists()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(image_folder_module, "_decode_all", None)  # must not be needed
    again = CIFAR10(cifar_root, train=True)
    assert np.array_equal(again.images, train.images)  # assert_array_equal takes 6 s here
    print(f"first CIFAR-10 train load: {first_seconds:.1f} s")
