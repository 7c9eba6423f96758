"""`train --tensorboard DIR` writes the per-step loss and per-epoch scores as event files."""

from __future__ import annotations

import csv
import json
import struct
import sys
from pathlib import Path

import pytest

from autograd_cv.cli import main
from autograd_cv.training import TrainConfig, train

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2", reason="the tensorboard extra")


def read_scalars(folder: Path) -> dict[str, dict[int, float]]:
    """tag -> {step: value} from every event file in `folder` (TFRecord framing, read here)."""
    scalars: dict[str, dict[int, float]] = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack_from("<Q", data, at)
            record = data[at + 12 : at + 12 + length]  # after the length and its crc
            at += 12 + length + 4  # and the record's crc
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def test_event_files_hold_the_step_losses_and_epoch_scores(tmp_path: Path) -> None:
    out, board = tmp_path / "run", tmp_path / "board"
    train(TrainConfig(model="mlp", epochs=2, batch_size=1024, out=str(out), graph=False,
                      progress=False, tensorboard=str(board)), log=lambda line: None)  # fmt: skip
    scalars = read_scalars(board)
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(scalars["train/loss"]) == [int(row["step"]) for row in rows]
    for row in rows:
        step = int(row["step"])
        assert scalars["train/loss"][step] == pytest.approx(float(row["loss"]), rel=1e-5)
        assert scalars["train/lr"][step] == pytest.approx(float(row["lr"]), rel=1e-5)
    metrics = json.loads((out / "metrics.json").read_text())
    steps_per_epoch = len(rows) // 2
    accuracy = scalars["epoch/test_accuracy"]
    assert sorted(accuracy) == [steps_per_epoch, 2 * steps_per_epoch]
    assert accuracy[2 * steps_per_epoch] == pytest.approx(metrics["test_accuracy"], rel=1e-6)
    assert list(scalars["epoch/train_loss"].values()) == pytest.approx(metrics["train_loss"])


def test_without_tensorboardx_the_option_is_refused_before_training(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails as if not installed
    out = tmp_path / "run"
    code = main(["train", "--model", "mlp", "--epochs", "1", "--out", str(out),
                 "--tensorboard", str(tmp_path / "board")])  # fmt: skip
    assert code == 2
    assert "--tensorboard needs the tensorboardX package" in capsys.readouterr().err
    assert not out.exists()
