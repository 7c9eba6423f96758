"""autograd_cv.vision in torchvision's shape: datasets (layouts, downloads, the refused
pickles), per-sample transforms and utils.make_grid / save_image."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import autograd_cv as ag
import autograd_cv.data.download as download_module
import autograd_cv.vision as torchvision
from autograd_cv.data import ChecksumError, DatasetNotFoundError
from autograd_cv.vision import datasets, transforms
from autograd_cv.vision.datasets import torchvision_style

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MNIST_TEST = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def mnist_files():
    if not (SHARED / "mnist").is_dir():
        pytest.skip("real MNIST not found in shared/data")
    return SHARED / "mnist"


def test_mnist_in_torchvision_layout_gives_pil_images(tmp_path, mnist_files):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_TEST:
        shutil.copy(mnist_files / name, raw / name)
    dataset = datasets.MNIST(tmp_path, train=False, target_transform=lambda t: t + 100)
    image, target = dataset[0]
    assert isinstance(image, Image.Image) and image.size == (28, 28) and image.mode == "L"
    with gzip.open(raw / MNIST_TEST[1]) as labels:
        first_label = labels.read()[8]
    assert target == first_label + 100 and len(dataset) == 10000
    assert dataset.data.shape == (10000, 28, 28) and dataset.targets.dtype == np.int64
    tensor_set = datasets.MNIST(tmp_path, train=False, transform=transforms.ToTensor())
    pixels, _ = tensor_set[0]
    assert pixels.shape == (1, 28, 28) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels.numpy()[0], np.asarray(image, np.float32) / 255)


def test_mnist_also_reads_our_layout_and_explains_what_is_missing(tmp_path, mnist_files):
    assert len(datasets.MNIST(mnist_files.parent, train=False)) == 10000
    with pytest.raises(DatasetNotFoundError, match=r"(?s)download=True.*t10k-images"):
        datasets.FashionMNIST(tmp_path, train=False)


def test_mnist_download_lands_in_torchvision_layout(tmp_path, mnist_files, serve, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in MNIST_TEST:
        shutil.copy(mnist_files / name, mirror / name)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [serve(mirror)])
    dataset = datasets.MNIST(tmp_path / "root", train=False, download=True)
    assert len(dataset) == 10000
    assert sorted(p.name for p in (tmp_path / "root" / "MNIST" / "raw").iterdir()) == MNIST_TEST


def _cifar_batches(folder: Path, per_batch: int = 3) -> dict[str, np.ndarray]:
    """Small binary CIFAR batches (label byte + 3072 pixel bytes per record)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = rng.integers(0, 256, size=(per_batch, 3073), dtype=np.uint8)
        records[:, 0] %= 10
        records.tofile(folder / name)
        written[name] = records
    return written


def test_cifar10_binary_version_gives_rgb_pil_images(tmp_path):
    records = _cifar_batches(tmp_path / "cifar-10-batches-bin")
    dataset = datasets.CIFAR10(tmp_path, train=False)
    image, target = dataset[1]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
    record = records["test_batch.bin"][1]
    assert target == record[0]
    np.testing.assert_array_equal(
        np.asarray(image), record[1:].reshape(3, 32, 32).transpose(1, 2, 0)
    )
    assert len(datasets.CIFAR10(tmp_path, train=True)) == 15 and dataset.data.shape == (
        3,
        32,
        32,
        3,
    )


def test_cifar10_refuses_the_pickled_version(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x04")
    with pytest.raises(DatasetNotFoundError, match=r"(?s)pickled python version.*refuses"):
        datasets.CIFAR10(tmp_path, train=True)


def _tarball(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    _cifar_batches(source / "cifar-10-batches-bin", per_batch=2)
    (source / "cifar-10-batches-bin" / "readme.html").write_text("not extracted")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(source / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    return mirror


def test_cifar10_download_is_md5_checked_and_unpacks_only_batches(tmp_path, serve, monkeypatch):
    mirror = _tarball(tmp_path)
    digest = hashlib.md5((mirror / "cifar-10-binary.tar.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(download_module.MIRRORS, "cifar-10", [serve(mirror)])
    monkeypatch.setattr(torchvision_style, "CIFAR10_BINARY",
                        download_module.RemoteFile("cifar-10-binary.tar.gz", digest))  # fmt: skip
    dataset = datasets.CIFAR10(tmp_path / "root", train=True, download=True)
    assert len(dataset) == 10
    unpacked = sorted(p.name for p in (tmp_path / "root" / "cifar-10-batches-bin").iterdir())
    assert "readme.html" not in unpacked and len(unpacked) == 6


def test_cifar10_download_with_a_wrong_md5_keeps_nothing(tmp_path, serve, monkeypatch):
    mirror = _tarball(tmp_path)
    monkeypatch.setitem(download_module.MIRRORS, "cifar-10", [serve(mirror)])
    with pytest.raises(ChecksumError, match="c32a1d4ab5d03f1284b67883e8d87530"):
        datasets.CIFAR10(tmp_path / "root", train=False, download=True)
    assert not (tmp_path / "root" / "cifar-10-batches-bin").exists()
    assert not (tmp_path / "root" / "cifar-10-binary.tar.gz").exists()


def test_image_folder_layout_and_loader(tmp_path):
    for name, color in (("dog", (200, 0, 0)), ("cat", (0, 200, 0))):
        (tmp_path / name / "inner").mkdir(parents=True)
        Image.new("RGB", (5, 4), color).save(tmp_path / name / "a.png")
        Image.new("L", (5, 4), 9).save(tmp_path / name / "inner" / "b.png")
    (tmp_path / "cat" / "notes.txt").write_text("skipped")
    dataset = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert dataset.classes == ["cat", "dog"] and dataset.class_to_idx == {"cat": 0, "dog": 1}
    assert len(dataset) == 4 and dataset.targets == [0, 0, 1, 1]
    image, label = dataset[2]
    assert label == 1 and image.shape == (3, 4, 5)
    np.testing.assert_allclose(image.numpy()[:, 0, 0], np.float32([200, 0, 0]) / 255)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="found no valid image file in .*empty"):
        datasets.ImageFolder(tmp_path)


def test_transforms_on_pil_images_and_tensors():
    array = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    picture = Image.fromarray(array)
    tensor = transforms.ToTensor()(picture)
    np.testing.assert_allclose(tensor.numpy(), array.transpose(2, 0, 1) / np.float32(255))
    normalized = transforms.Normalize((0.5, 0.4, 0.3), (0.5, 0.2, 0.1))(tensor)
    expected = (tensor.numpy() - np.float32([0.5, 0.4, 0.3])[:, None, None]) / np.float32(
        [0.5, 0.2, 0.1]
    )[:, None, None]
    np.testing.assert_allclose(normalized.numpy(), expected, rtol=1e-6)
    centre = transforms.CenterCrop(2)(picture)
    np.testing.assert_array_equal(np.asarray(centre), array[1:3, 2:4])
    np.testing.assert_array_equal(
        transforms.CenterCrop((2, 4))(tensor).numpy(), tensor.numpy()[:, 1:3, 1:5]
    )
    assert transforms.Resize(8)(picture).size == (12, 8)  # shorter side to 8
    assert transforms.Resize((3, 5))(tensor).shape == (3, 3, 5)
    flipped = transforms.RandomHorizontalFlip(p=1.0)(picture)
    np.testing.assert_array_equal(np.asarray(flipped), array[:, ::-1])
    assert transforms.RandomHorizontalFlip(p=0.0)(tensor) is tensor
    ag.manual_seed(4)
    crop = transforms.RandomCrop(4, padding=2)(tensor)
    assert crop.shape == (3, 4, 4)
    padded = np.pad(tensor.numpy(), ((0, 0), (2, 2), (2, 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(1, 2))
    assert any(np.array_equal(windows[:, i, j], crop.numpy()) for i in range(5) for j in range(7))
    ag.manual_seed(4)
    np.testing.assert_array_equal(transforms.RandomCrop(4, padding=2)(tensor).numpy(), crop.numpy())
    pipeline = transforms.Compose([transforms.Lambda(lambda img: img.convert("L")),
                                   transforms.ToTensor()])  # fmt: skip
    assert pipeline(picture).shape == (1, 4, 6)
    with pytest.raises(TypeError, match="Normalize: expected a float tensor"):
        transforms.Normalize((0.5,), (0.5,))(ag.tensor(np.zeros((1, 2, 2), np.uint8)))


def test_make_grid_places_tiles_like_torchvision():
    images = ag.tensor(np.arange(5, dtype=np.float32)[:, None, None, None] * np.ones((5, 1, 2, 3)))
    grid = torchvision.utils.make_grid(images, nrow=2, padding=1, pad_value=-1).numpy()
    assert grid.shape == (3, 3 * 3 + 1, 2 * 4 + 1)  # one channel repeated into three
    assert (grid[:, 1:3, 5:8] == 1).all() and (grid[:, 7:9, 1:4] == 4).all()
    assert (grid[:, 0, :] == -1).all() and (grid[:, 7:9, 5:8] == -1).all()
    scaled = torchvision.utils.make_grid(images, normalize=True).numpy()
    assert scaled.min() == 0 and scaled.max() == 1
    single = torchvision.utils.make_grid(images[:1])
    assert single.shape == (3, 2, 3)


def test_save_image_writes_the_grid(tmp_path):
    images = ag.tensor(np.linspace(0, 1, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4))
    path = tmp_path / "grid.png"
    torchvision.utils.save_image(images, path, nrow=2, padding=0)
    written = np.asarray(Image.open(path))
    expected = np.concatenate([images.numpy()[0], images.numpy()[1]], axis=2).transpose(1, 2, 0)
    np.testing.assert_array_equal(written, np.clip(expected * 255 + 0.5, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    torchvision.utils.save_image(images[0], buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_models_namespace_reexports_ours():
    from autograd_cv.models import AlexNetSmall, LeNet5

    assert torchvision.models.LeNet5 is LeNet5 and torchvision.models.AlexNetSmall is AlexNetSmall
