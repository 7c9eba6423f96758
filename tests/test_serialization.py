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


# ----- hostile input ----------------------------------------------------------------------
def _npz_bomb(path, declared_bytes: int, written_bytes: int) -> None:
    """A .npz whose one member declares `declared_bytes` of float64 and holds `written_bytes`."""
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": (declared_bytes // 8,)}
            np.lib.format.write_array_header_1_0(member, header)
            for _ in range(written_bytes // len(chunk)):
                member.write(chunk)


def test_npz_bomb_is_refused_from_its_headers_with_bounded_memory(tmp_path):
    import subprocess
    import sys

    bomb = tmp_path / "bomb.npz"
    _npz_bomb(bomb, 1 << 30, 1 << 30)  # 1 GiB of zeros in about 5 MB
    assert bomb.stat().st_size < 8 << 20
    script = (
        "import re, autograd_cv as ag\n"
        "try:\n"
        f"    ag.load({str(bomb)!r}, max_bytes=256 << 20)\n"
        "except ValueError as error:\n"
        "    print('refused', error)\n"
        # VmHWM, not ru_maxrss: Linux carries the forking pytest process's peak across exec.
        "status = open('/proc/self/status').read()\n"
        "print('peak', int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert "refused" in done.stdout and "max_bytes=268435456" in done.stdout, done
    assert float(done.stdout.rsplit("peak ", 1)[1]) < 300, done  # MB; the import alone: ~160


def test_npz_header_claiming_terabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npz"
    _npz_bomb(path, 8 << 40, 0)  # says 8 TiB, holds nothing
    with pytest.raises(ValueError, match="liar.npz.*declares"):
        ag.load(path)


def test_colliding_keys_and_oversized_ints_are_refused_at_save_time(tmp_path):
    with pytest.raises(ValueError, match="keys 1 and '1'.*one name"):
        ag.save({1: np.ones(2), "1": np.zeros(2)}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="int at 'n' does not fit in 64 bits"):
        ag.save({"n": 2**70}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="int at 'ids' does not fit"):
        ag.save({"ids": [1, -(2**64)]}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    ag.save({"n": 2**63 - 1, "m": -(2**63)}, tmp_path / "ok.npz")
    assert ag.load(tmp_path / "ok.npz") == {"n": 2**63 - 1, "m": -(2**63)}


def test_deep_nesting_is_a_clear_error_and_strings_keep_trailing_nuls(tmp_path):
    deep: dict = {}
    level = deep
    for _ in range(500):
        level["a"] = {}
        level = level["a"]
    with pytest.raises(ValueError, match="nesting deeper than 100 levels"):
        ag.save(deep, tmp_path / "deep.npz")
    strings = {"a": "x\0", "b": "\0\0", "c": "mid\0dle", "d": "plain", "e": ""}
    ag.save(strings, tmp_path / "s.npz")
    assert ag.load(tmp_path / "s.npz") == strings


@pytest.mark.parametrize(
    "structure",
    [
        "[1, 2]",  # not a node
        '{"dict": [["model", {"array": "missing"}]]}',  # names an entry that is not there
        '{"dict": 5}',
        '{"scalar": "w", "type": "complex"}',
        '{"numbers": "w", "kind": "list", "type": "int"}',  # a 2-d array as a list of numbers
        "[" * 5000 + "]" * 5000,  # JSON deep enough to exhaust the recursion limit
        '{"list": ' * 300 + "[]" + "}" * 300,
        "not json",
    ],
)
def test_damaged_structure_entries_are_value_errors(tmp_path, structure):
    path = tmp_path / "crafted.npz"
    np.savez(path, w=np.ones((2, 2)), __structure__=np.asarray(structure))
    with pytest.raises(ValueError, match="crafted.npz.*damaged structure"):
        ag.load(path)
