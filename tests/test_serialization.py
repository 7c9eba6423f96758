"""ag.save / ag.load: nested checkpoints in .npz, atomic writes, damaged files refused clearly."""

from __future__ import annotations

import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import autograd_cv as ag


def checkpoint():
    return {
        "model": OrderedDict(
            [("features.0.weight", np.arange(6, dtype=np.float32).reshape(2, 3)),
             ("features.0.bias", np.zeros(2, np.float32)),
             ("bn.num_batches_tracked", np.array(7, dtype=np.int64))]
        ),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": np.ones(4)}, 1: {}},
            "param_groups": [
                {"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]}
            ],
        },
        "epoch": 3,
        "meta": {"name": "lenet", "accuracy": 0.987, "note": None, "tags": ["a", "b"]},
    }  # fmt: skip


def test_round_trip_restores_structure_types_and_values(tmp_path):
    path = tmp_path / "ckpt.npz"
    original = checkpoint()
    ag.save(original, path)
    loaded = ag.load(path)
    assert list(loaded["model"]) == list(original["model"])
    for key, value in original["model"].items():
        assert loaded["model"][key].dtype == value.dtype
        np.testing.assert_array_equal(loaded["model"][key], value)
    state = loaded["optimizer"]["state"]
    assert set(state) == {0, 1} and state[1] == {}
    assert state[0]["step"] == 3 and type(state[0]["step"]) is int
    group = loaded["optimizer"]["param_groups"][0]
    assert group == {"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]}
    assert type(group["amsgrad"]) is bool and type(group["lr"]) is float
    assert loaded["epoch"] == 3
    assert loaded["meta"] == {"name": "lenet", "accuracy": 0.987, "note": None, "tags": ["a", "b"]}


def test_file_is_plain_npz_with_slash_keys_and_no_object_arrays(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save(checkpoint(), path)
    with np.load(path, allow_pickle=False) as archive:
        names = set(archive.files)
        assert {"model/features.0.weight", "optimizer/state/0/exp_avg", "epoch",
                "meta/name", "optimizer/param_groups/0/params"} <= names  # fmt: skip
        assert archive["meta/name"].dtype.kind == "U"
        assert all(archive[name].dtype.kind != "O" for name in names)


def test_a_plain_state_dict_and_a_foreign_npz_load(tmp_path):
    sd = OrderedDict(w=np.ones((2, 2), np.float32), b=np.zeros(2, np.float32))
    ag.save(sd, tmp_path / "sd.npz")
    loaded = ag.load(tmp_path / "sd.npz")
    assert list(loaded) == ["w", "b"]
    np.savez(tmp_path / "foreign.npz", **{"a/b": np.ones(2), "c": np.zeros(1)})
    foreign = ag.load(tmp_path / "foreign.npz")
    np.testing.assert_array_equal(foreign["a"]["b"], np.ones(2))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save({"x": np.ones(3)}, path)
    with pytest.raises(TypeError, match="cannot store a set at 'bad'"):
        ag.save({"x": np.zeros(3), "bad": {1, 2}}, path)
    # The failed save left the previous checkpoint untouched and no temporary behind.
    np.testing.assert_array_equal(ag.load(path)["x"], np.ones(3))
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_saved_files_get_the_umask_permissions_not_private_ones(tmp_path):
    previous = os.umask(0o027)
    try:
        ag.save({"x": np.ones(3)}, tmp_path / "ckpt.npz")
    finally:
        os.umask(previous)
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o640


def test_unsupported_keys_and_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match="invalid key 'a/b'"):
        ag.save({"a/b": 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object array"):
        ag.save({"a": np.array([1, "x", None], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        ag.save({(1, 2): 1}, tmp_path / "x.npz")


def test_truncated_files_give_a_clear_error_naming_the_file(tmp_path):
    good = tmp_path / "ckpt.npz"
    ag.save(checkpoint(), good)
    payload = good.read_bytes()
    for cut in [0, 1, 10, 100, len(payload) // 3, len(payload) // 2, len(payload) - 30,
                len(payload) - 1]:  # fmt: skip
        damaged = tmp_path / f"cut{cut}.npz"
        damaged.write_bytes(payload[:cut])
        with pytest.raises(ValueError, match=f"cut{cut}.npz"):
            ag.load(damaged)


def test_corrupted_member_gives_a_clear_error(tmp_path):
    good = tmp_path / "ckpt.npz"
    ag.save({"w": np.arange(1000.0)}, good)
    payload = bytearray(good.read_bytes())
    start = payload.find(b"\x93NUMPY", payload.find(b"w.npy"))
    payload[start + 200 : start + 260] = b"\xff" * 60  # inside the array data: CRC fails
    damaged = tmp_path / "flipped.npz"
    damaged.write_bytes(bytes(payload))
    with pytest.raises(ValueError, match="flipped.npz"):
        ag.load(damaged)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("this is not a checkpoint\n")
    with pytest.raises(ValueError, match="notes.npz"):
        ag.load(text)
    single = tmp_path / "array.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        ag.load(single)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, ok=np.ones(2), evil=np.array([{"a": 1}], dtype=object))
    assert zipfile.is_zipfile(path)
    with pytest.raises(ValueError, match="pickled.npz.*object array"):
        ag.load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        ag.load(tmp_path / "absent.npz")
