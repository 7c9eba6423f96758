"""IDX parsing, and MNIST / Fashion-MNIST / the embedded subset read from real files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from autograd_cv.data import MNIST, DatasetFormatError, FashionMNIST, MNISTMini, read_idx
from autograd_cv.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx


def idx_bytes(values: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, values.ndim]) + np.asarray(values.shape, ">u4").tobytes()
    return header + values.tobytes()


def test_parse_idx_round_trips_shape_and_values():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    parsed = parse_idx(idx_bytes(images), expected_magic=IMAGES_MAGIC)
    np.testing.assert_array_equal(parsed, images)
    assert parsed.flags.writeable


def test_parse_idx_big_endian_int32():
    values = np.array([1, -2, 70000], dtype=">i4")
    parsed = parse_idx(idx_bytes(values, type_code=0x0C))
    assert parsed.dtype == np.int32
    assert parsed.tolist() == [1, -2, 70000]


def test_read_idx_gz_and_raw(tmp_path):
    labels = np.array([5, 0, 4], dtype=np.uint8)
    (tmp_path / "l.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    (tmp_path / "l").write_bytes(idx_bytes(labels))
    for name in ("l.gz", "l"):
        assert read_idx(tmp_path / name, expected_magic=LABELS_MAGIC).tolist() == [5, 0, 4]


def test_wrong_magic_names_file_and_both_magics(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))  # a label file's magic
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte\.gz.*2049.*2051"):
        read_idx(path, expected_magic=IMAGES_MAGIC)


def test_truncated_file_reports_expected_and_actual_sizes(tmp_path):
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-10]
    path = tmp_path / "short.idx"
    path.write_bytes(raw)
    with pytest.raises(DatasetFormatError, match=rf"short\.idx.*\(2, 28, 28\).*1584.*{len(raw)}"):
        read_idx(path)


def test_corrupt_gzip_names_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-12])
    with pytest.raises(DatasetFormatError, match=r"bad\.gz"):
        read_idx(path)


def test_images_and_labels_count_mismatch(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
    )
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(2, np.uint8)))
    )
    with pytest.raises(DatasetFormatError, match=r"3 images .* 2 labels"):
        MNIST(tmp_path, train=False, download=False)


MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_train_matches_sources_md(mnist_root):
    train = MNIST(mnist_root, train=True, download=False)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(train.labels).tolist() == MNIST_TRAIN_COUNTS
    assert train.folder == mnist_root / "mnist"


def test_mnist_test_split_and_root_containing_files_directly(mnist_root):
    test = MNIST(mnist_root / "mnist", train=False, download=False)
    assert test.images.shape == (10000, 1, 28, 28)
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(test.labels).tolist() == MNIST_TEST_COUNTS


def test_mnist_root_from_environment(mnist_root, monkeypatch):
    monkeypatch.setenv("AUTOGRAD_CV_DATA", str(mnist_root))
    assert len(MNIST(train=False, download=False)) == 10000


def test_fashion_mnist_counts(fashion_root):
    train = FashionMNIST(fashion_root, train=True, download=False)
    test = FashionMNIST(fashion_root, train=False, download=False)
    assert train.images.shape == (60000, 1, 28, 28)
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert len(FashionMNIST.classes) == 10


def test_mnist_mini_is_the_first_images_of_mnist(mnist_root):
    mini_train, mini_test = MNISTMini(train=True), MNISTMini(train=False)
    assert mini_train.images.shape == (10000, 1, 28, 28)
    assert mini_test.images.shape == (2000, 1, 28, 28)
    full_test = MNIST(mnist_root, train=False, download=False)
    np.testing.assert_array_equal(mini_test.images, full_test.images[:2000])
    np.testing.assert_array_equal(mini_test.labels, full_test.labels[:2000])
    assert mini_train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_mnist_mini_needs_no_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOGRAD_CV_DATA", str(tmp_path / "nothing here"))
    mini = MNISTMini(train=False)
    assert np.bincount(mini.labels).tolist() == [175, 234, 219, 207, 217, 179, 178, 205, 192, 194]


def test_embedded_subset_is_small():
    from importlib import resources

    folder = resources.files("autograd_cv.data").joinpath("mnist_mini")
    total = sum(len(f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".gz"))
    assert total <= 3 * 1024 * 1024
