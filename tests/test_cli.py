"""The command line as a user meets it: outputs, one-line errors, interrupts and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_cv as ag
from autograd_cv.cli import main

FAST = ["--model", "mlp", "--dataset", "mnist-mini", "--batch-size", "256", "--no-progress"]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograd_cv", *args], capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def test_train_writes_checkpoint_metrics_curves_and_graph(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", *FAST, "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("epoch ") >= 2 and "test acc" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["train_loss"]) == 2 and metrics["train_loss"][1] < metrics["train_loss"][0]
    assert metrics["test_accuracy"] > 0.85 and metrics["seconds"] > 0
    assert (out / "curves.png").stat().st_size > 1000
    assert (out / "confusion.png").stat().st_size > 1000
    checkpoint = ag.load(out / "model.npz")
    assert "optimizer" in checkpoint and checkpoint["meta"]["model"] == "mlp"
    if (out / "graph.svg").exists():  # only when graphviz's dot is installed
        assert "linear" in (out / "graph.svg").read_text()

    assert main(["eval", "--checkpoint", str(out / "model.npz")]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {metrics['test_accuracy']:.4f}" in printed
    assert "true \\ pred" in printed


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--model", "resnet"], "unknown model 'resnet'"),
        (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["train", "--data-dir", "/no/such/folder", "--dataset", "mnist"], "does not exist"),
        (["train", "--model", "alexnet-small", "--dataset", "mnist-mini"], "needs 3x32x32"),
        (["train", "--model", "alexnet-small-bn", "--dataset", "mnist"], "needs 3x32x32"),
        (["eval", "--checkpoint", "/no/such/model.npz"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_corrupt_or_foreign_checkpoint_is_refused_and_nothing_overwritten(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    corrupt = out / "model.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a checkpoint")
    before = corrupt.read_bytes()
    assert main(["train", *FAST, "--resume", str(corrupt), "--out", str(out)]) == 2
    assert "corrupt or not a checkpoint" in capsys.readouterr().err
    assert corrupt.read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["model.npz"]

    other = tmp_path / "other"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(other), "--no-graph"]) == 0
    capsys.readouterr()
    assert main(["train", "--model", "perceptron", "--dataset", "mnist-mini",
                 "--resume", str(other / "model.npz"), "--out", str(out)]) == 2  # fmt: skip
    assert "is for model 'mlp', not 'perceptron'" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_resumable_checkpoint_and_exits_cleanly(tmp_path: Path, signum) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_cv", "train", *FAST, "--batch-size", "32",
         "--epochs", "50", "--out", str(out), "--no-graph"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()  # printed once the signal handlers are in place
    assert line.startswith("training mlp"), line
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum
    assert "saved a resumable checkpoint" in err and "Traceback" not in err
    checkpoint = ag.load(out / "model.npz")
    progress = json.loads(checkpoint["progress"])
    assert progress["batch"] >= 1 or progress["epoch"] >= 1


def test_kill_9_loses_at_most_the_work_since_the_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_cv", "train", *FAST, "--epochs", "50", "--out",
         str(out), "--no-graph", "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout.readline().startswith("training")
    assert process.stdout.readline().startswith("epoch 1/50")  # its checkpoint is on disk
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "no partial file left"
    checkpoint = ag.load(out / "model.npz")
    assert json.loads(checkpoint["progress"])["epoch"] >= 1
    resumed = run_cli("train", *FAST, "--epochs", "2", "--out", str(out), "--no-graph",
                      "--seed", "5", "--resume", str(out / "model.npz"))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout


def test_train_without_dot_writes_graph_dot_and_says_so(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "dot" else real_which(name, *a, **k)
    )
    out = tmp_path / "run"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if "graph.svg skipped" in line]
    assert len(lines) == 1 and "install graphviz" in lines[0] and "graph.dot" in lines[0]
    assert not (out / "graph.svg").exists()
    assert (out / "graph.dot").read_text().startswith("digraph")
