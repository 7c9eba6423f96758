"""Downloads for real, from a local HTTP server serving copies of the real files."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest

import autograd_cv.data.download as download_module
from autograd_cv.data import MNIST, ChecksumError, DatasetNotFoundError

TEST_FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture
def mirror(tmp_path, mnist_root):
    """A folder holding copies of the real MNIST test files, as a mirror would."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in TEST_FILES:
        shutil.copy(mnist_root / "mnist" / name, folder / name)
    return folder


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more


def test_download_good_checksum_is_cached(tmp_path, mirror, serve, monkeypatch):
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [closed_port_url(), serve(mirror)])
    root = tmp_path / "data"
    test = MNIST(root, train=False, download=True)
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert sorted(p.name for p in (root / "mnist").iterdir()) == TEST_FILES  # no temp files
    # The cached files are used from now on, with no network at all.
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [])
    again = MNIST(root, train=False, download=False)
    np.testing.assert_array_equal(again.images, test.images)


def test_mirror_list_from_environment(tmp_path, mirror, serve, monkeypatch):
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [closed_port_url()])
    monkeypatch.setenv("AUTOGRAD_CV_MIRRORS_MNIST", serve(mirror).rstrip("/"))
    assert len(MNIST(tmp_path, train=False)) == 10000


def test_wrong_checksum_is_reported_and_leaves_nothing(tmp_path, mirror, serve, monkeypatch):
    labels = mirror / "t10k-labels-idx1-ubyte.gz"
    damaged = bytearray(labels.read_bytes())
    damaged[-20] ^= 0xFF
    labels.write_bytes(bytes(damaged))
    url = serve(mirror)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [url])
    root = tmp_path / "data"
    with pytest.raises(ChecksumError) as caught:
        MNIST(root, train=False)
    message = str(caught.value)
    assert "ec29112dd5afa0611ce80d1b7f02629c" in message  # expected
    assert download_module.hashlib.md5(bytes(damaged)).hexdigest() in message  # got
    assert url + "t10k-labels-idx1-ubyte.gz" in message
    # The good images file was kept; the bad labels file and its temp file were not.
    assert [p.name for p in (root / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_no_server_gives_offline_error_listing_files(tmp_path, monkeypatch):
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [closed_port_url()])
    root = tmp_path / "data"
    with pytest.raises(DatasetNotFoundError) as caught:
        MNIST(root, train=False)
    message = str(caught.value)
    for name in TEST_FILES:  # every missing file, with its md5
        assert name in message and MNIST.md5s[name] in message
    assert str(root / "mnist") in message
    assert list((root / "mnist").iterdir()) == []


def test_download_false_lists_every_missing_file_without_network(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("download=False must not touch the network")

    monkeypatch.setattr(download_module.urllib.request, "urlopen", no_network)
    with pytest.raises(DatasetNotFoundError) as caught:
        MNIST(tmp_path, train=True, download=False)
    message = str(caught.value)
    for name, md5 in MNIST.md5s.items():
        assert (name in message) == name.startswith("train")
        assert (md5 in message) == name.startswith("train")
    assert str(tmp_path / "mnist") in message


def test_read_only_root_is_not_written(tmp_path, monkeypatch):
    root = tmp_path / "readonly"
    root.mkdir()
    root.chmod(0o555)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [closed_port_url()])
    try:
        with pytest.raises(DatasetNotFoundError, match="not writable"):
            MNIST(root, train=False)
        assert list(root.iterdir()) == []
    finally:
        root.chmod(0o755)
