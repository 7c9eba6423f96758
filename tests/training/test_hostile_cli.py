"""Hostile arguments, folders and checkpoints: one line and exit code 2, never a traceback.

A loss that becomes non-finite stops with exit code 3 and keeps the last good checkpoint.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.cli import main
from autograd_cv.training import DATASETS

FAST = ["--model", "mlp", "--dataset", "mnist-mini", "--batch-size", "500", "--no-progress",
        "--no-graph"]  # fmt: skip


def one_line_error(capsys, code: int, args: list[str], message: str) -> str:
    """Run the command; assert the exit code and a single stderr line holding `message`."""
    assert main(args) == code
    err = capsys.readouterr().err.strip("\n")
    assert message in err and "Traceback" not in err and err.count("\n") == 0, err
    return err


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--seed", "-1", "--seed must be 0 or more"),
        ("--lr", "-0.1", "--lr must be greater than 0"),
        ("--lr", "0", "--lr must be greater than 0"),
        ("--lr", "nan", "--lr must be a finite number"),
        ("--lr", "inf", "--lr must be a finite number"),
        ("--momentum", "-1", "--momentum must be 0 or more"),
        ("--momentum", "nan", "--momentum must be a finite number"),
        ("--weight-decay", "-1", "--weight-decay must be 0 or more"),
        ("--weight-decay", "nan", "--weight-decay must be a finite number"),
    ],
)
def test_bad_hyperparameters_are_refused(tmp_path, capsys, option, value, message) -> None:
    out = tmp_path / "run"
    one_line_error(capsys, 2, ["train", *FAST, option, value, "--out", str(out)], message)
    assert not out.exists()


def test_unusable_out_folders_are_refused_before_training(tmp_path, capsys) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_line_error(capsys, 2, ["train", *FAST, "--out", str(a_file)], "is a file, not a folder")
    one_line_error(capsys, 2, ["train", *FAST, "--out", str(a_file / "run")],
                   "is under the file")  # fmt: skip
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["train", *FAST, "--out", str(locked / "run")]) == 2
        captured = capsys.readouterr()
        assert "is not writable" in captured.err and "epoch" not in captured.out
    finally:
        locked.chmod(stat.S_IRWXU)


def test_out_holding_a_model_is_not_overwritten_without_force(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(out)]) == 0
    before = (out / "model.npz").read_bytes()
    capsys.readouterr()
    one_line_error(capsys, 2, ["train", *FAST, "--model", "perceptron", "--out", str(out)],
                   "already exists; pass --force")  # fmt: skip
    assert (out / "model.npz").read_bytes() == before
    stale = out / ".model.npz.k9abc.tmp"  # what a kill -9 during a save leaves
    stale.write_bytes(b"partial")
    assert main(["train", *FAST, "--model", "perceptron", "--epochs", "1", "--force",
                 "--out", str(out)]) == 0  # fmt: skip
    assert ag.load(out / "model.npz")["meta"]["model"] == "perceptron"
    assert not stale.exists()


def test_data_folder_problems_are_one_line(tmp_path, capsys, monkeypatch) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_line_error(capsys, 2, ["train", "--dataset", "mnist", "--data-dir", str(a_file)],
                   "is a file, not a folder")  # fmt: skip

    def unreadable(root, train):
        raise PermissionError(13, "Permission denied", str(tmp_path / "mnist"))

    # Root reads any folder, so the refusal the OS gives other users is simulated here.
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"],
                                                                load=unreadable))  # fmt: skip
    monkeypatch.setenv("AUTOGRAD_CV_DATA", str(tmp_path))
    one_line_error(capsys, 2, ["train", "--dataset", "mnist", "--out", str(tmp_path / "r")],
                   "cannot read the mnist data")  # fmt: skip


def test_damaged_dataset_files_are_one_line(tmp_path, capsys) -> None:
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    for name, magic, shape in [("train-images-idx3-ubyte.gz", 2051, (2, 28, 28)),
                               ("train-labels-idx1-ubyte.gz", 2049, (2,)),
                               ("t10k-images-idx3-ubyte.gz", 2051, (2, 28, 28)),
                               ("t10k-labels-idx1-ubyte.gz", 2049, (2,))]:  # fmt: skip
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in shape)
        payload = gzip.compress(header + bytes(int(np.prod(shape))))
        (mnist / name).write_bytes(payload[:-8] + b"\xff" * 8)  # bad CRC and length
    one_line_error(capsys, 2, ["train", "--dataset", "mnist", "--data-dir", str(tmp_path),
                               "--out", str(tmp_path / "r")], "cannot read as IDX")  # fmt: skip
    cifar = tmp_path / "c"
    cifar.mkdir()
    with zipfile.ZipFile(cifar / "cifar-10.zip", "w") as archive:
        archive.writestr("train/airplane/0.png", b"x" * 100)
    (cifar / "cifar-10.zip").write_bytes((cifar / "cifar-10.zip").read_bytes()[:60])
    one_line_error(capsys, 2, ["train", "--model", "alexnet-small", "--dataset", "cifar10",
                               "--data-dir", str(cifar), "--out", str(tmp_path / "r")],
                   "not a readable zip")  # fmt: skip


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "run"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(out)]) == 0
    return out


def _craft(checkpoint: dict, change: str) -> dict:
    meta = checkpoint["meta"]
    progress = json.loads(checkpoint["progress"])
    if change == "no model name":
        del meta["model"]
    elif change == "unknown dataset":
        meta["dataset"] = "imagenet"
    elif change == "config not json":
        meta["config"] = "{"
    elif change == "progress not json":
        checkpoint["progress"] = "[[[["
    elif change == "progress missing epoch":
        del progress["epoch"]
        checkpoint["progress"] = json.dumps(progress)
    elif change == "progress huge batch":
        progress["batch"] = 10**30
        checkpoint["progress"] = json.dumps(progress)
    elif change == "history damaged":
        progress["history"] = [{"epoch": "one"}]
        checkpoint["progress"] = json.dumps(progress)
    elif change == "rng garbage":
        checkpoint["rng"] = json.dumps({"bit_generator": "nope"})
    elif change == "optimizer state emptied":
        checkpoint["optimizer"] = {"state": {"0": {}}, "param_groups": []}
    elif change == "weights wrong shape":
        name = next(iter(checkpoint["model"]))
        checkpoint["model"][name] = np.zeros((1, 1), np.float32)
    elif change == "model not a dict":
        checkpoint["model"] = [1, 2]
    return checkpoint


CHANGES = ["no model name", "unknown dataset", "config not json", "progress not json",
           "progress missing epoch", "progress huge batch", "history damaged", "rng garbage",
           "optimizer state emptied", "weights wrong shape", "model not a dict"]  # fmt: skip


@pytest.mark.parametrize("change", CHANGES)
def test_crafted_checkpoints_are_one_line(good_run, tmp_path, capsys, change) -> None:
    crafted = tmp_path / "crafted.npz"
    ag.save(_craft(ag.load(good_run / "model.npz"), change), crafted)
    args = ["train", *FAST, "--epochs", "2", "--resume", str(crafted), "--out", str(tmp_path)]
    one_line_error(capsys, 2, args, "crafted.npz")
    if change not in ("rng garbage", "optimizer state emptied"):  # eval reads neither
        one_line_error(capsys, 2, ["eval", "--checkpoint", str(crafted)], "crafted.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crafted.npz"]


def test_eval_of_a_checkpoint_naming_an_unknown_dataset(good_run, tmp_path, capsys) -> None:
    crafted = tmp_path / "crafted.npz"
    ag.save(_craft(ag.load(good_run / "model.npz"), "unknown dataset"), crafted)
    one_line_error(capsys, 2, ["eval", "--checkpoint", str(crafted)], "unknown dataset 'imagenet'")


@pytest.mark.parametrize(
    "change, message",
    [
        (["--optimizer", "adam"], "--optimizer sgd, not adam"),
        (["--batch-size", "250"], "--batch-size 500, not 250"),
    ],  # fmt: skip
)
def test_resume_with_another_optimizer_or_batch_size_is_refused(
    good_run, tmp_path, capsys, change, message
) -> None:
    args = ["train", *FAST, "--epochs", "2", *change, "--resume", str(good_run / "model.npz"),
            "--out", str(tmp_path / "r")]  # fmt: skip
    one_line_error(capsys, 2, args, message)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_a_diverging_run_stops_with_exit_3_keeping_the_last_good_checkpoint(
    good_run, tmp_path, capsys
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in ("model.npz", "metrics.json"):
        (out / name).write_bytes((good_run / name).read_bytes())
    before = (out / "model.npz").read_bytes()
    args = ["train", *FAST, "--epochs", "3", "--lr", "1e30", "--resume", str(out / "model.npz"),
            "--out", str(out)]  # fmt: skip
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "diverged: the loss became" in err and "last good checkpoint" in err
    assert "Traceback" not in err
    assert (out / "model.npz").read_bytes() == before
    metrics = json.loads((out / "metrics.json").read_text())  # still strict JSON
    assert all(np.isfinite(metrics["train_loss"]))


def test_ctrl_c_before_the_loop_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch) -> None:
    from autograd_cv.training import loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "load_dataset", interrupted)  # as if Ctrl-C hit the data loading
    one_line_error(capsys, 130, ["train", *FAST, "--out", str(tmp_path / "r")], "interrupted")
    assert not os.path.exists(tmp_path / "r")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--dpi", "0"], "--dpi must be at least 1"),
        (["--out", "FILE/under.svg"], "FILE"),
    ],
)
def test_graph_bad_arguments_are_exit_2(tmp_path, capsys, args, message) -> None:
    (tmp_path / "FILE").write_text("x")
    args = [a.replace("FILE", str(tmp_path / "FILE")) for a in args]
    assert main(["graph", "--model", "perceptron", *args]) == 2
    err = capsys.readouterr().err
    assert message.replace("FILE", str(tmp_path / "FILE")) in err and "Traceback" not in err
