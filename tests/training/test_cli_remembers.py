"""eval finds the data the model was trained on; metrics.json holds the hyperparameters that ran."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import autograd_cv.data.download as download_module
from autograd_cv.cli import main
from autograd_cv.training import Interrupted, TrainConfig, train

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def quiet(line: str) -> None:
    pass


def test_eval_uses_the_data_dir_the_model_was_trained_from(tmp_path, monkeypatch, capsys):
    if not (SHARED / "mnist").is_dir():
        pytest.skip("real MNIST not found in shared/data")
    data = tmp_path / "data" / "mnist"
    shutil.copytree(SHARED / "mnist", data)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOGRAD_CV_DATA", raising=False)
    out = tmp_path / "run"
    config = TrainConfig(model="mlp", dataset="mnist", data_dir=str(data.parent), epochs=1,
                         batch_size=256, out=str(out), graph=False, progress=False,
                         stop_after_steps=3)  # fmt: skip
    with pytest.raises(Interrupted):
        train(config, log=quiet)

    def no_network(*args, **kwargs):
        raise AssertionError("eval tried to download")

    monkeypatch.setattr(download_module, "download", no_network)
    assert main(["eval", "--checkpoint", str(out / "model.npz")]) == 0
    assert "mlp on mnist test set: accuracy" in capsys.readouterr().out


def test_metrics_record_the_hyperparameters_that_ran(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(model="mlp", epochs=1, batch_size=512, out=str(out), graph=False,
                      progress=False), log=quiet)  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["lr"] == 0.02 and metrics["hyperparameters"]["lr"] == 0.02
    assert metrics["hyperparameters"]["momentum"] == 0.9
    assert metrics["hyperparameters"]["batch_size"] == 512


def test_predict_lists_the_top_classes_of_image_files(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv.data import DataLoader, MNISTMini
    from autograd_cv.training import forward, transforms

    out = tmp_path / "run"
    result = train(TrainConfig(model="mlp", epochs=1, batch_size=512, out=str(out), graph=False,
                               progress=False), log=quiet)  # fmt: skip
    test_set = MNISTMini(train=False)
    paths = []
    for i in (0, 1, 2):
        paths.append(str(tmp_path / f"digit{i}.png"))
        Image.fromarray(test_set.images[i, 0]).save(paths[-1])
    assert main(["predict", "--checkpoint", str(out / "model.npz"), *paths]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    loader = DataLoader(test_set, 3, transform=transforms("mnist-mini", train=False))
    images, _ = next(iter(loader))
    model = result["model_object"]
    model.eval()
    with ag.no_grad():
        expected = F.softmax(forward(model, images), dim=1).numpy()
    for path, line, row in zip(paths, printed, expected):
        best = np.argsort(-row)[:5]
        assert line == f"{path}: " + ", ".join(f"{k} {row[k]:.3f}" for k in best)
    assert main(["predict", "--checkpoint", str(out / "model.npz"), "missing.png"]) == 2
    assert "image 'missing.png' does not exist" in capsys.readouterr().err
