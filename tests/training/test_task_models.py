"""`autograd-cv train` for the task models: a few steps on mnist-mini scenes write the task's
metrics, the settings that ran and its picture; eval scores the saved model the same way;
mismatched pairs and options task models do not take are one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from autograd_cv.cli import main
from autograd_cv.models.regression import PoseRegressor
from autograd_cv.training import TrainConfig, check_pair
from autograd_cv.training import tasks as T

SMALL = ["--train-size", "8", "--test-size", "3", "--epochs", "1", "--batch-size", "4",
         "--seed", "1", "--no-progress"]  # fmt: skip


@pytest.mark.parametrize(
    "model, dataset, keys, picture",
    [
        ("fcn", "digit-scenes-mini", {"mean_iou", "pixel_accuracy"}, "masks.png"),
        ("rcnn", "digit-scenes-mini", {"map", "proposals_per_image"}, "boxes.png"),
        ("fast-rcnn", "digit-scenes-mini", {"map", "proposal_recall_05"}, "boxes.png"),
        ("pose-regressor", "digit-poses-mini", {"centre_px", "angle_degrees"}, "poses.png"),
        ("siamese", "digit-patches-mini", {"auc", "fpr95", "top1", "pixel_auc"}, "matching.png"),
        (
            "upconv-generator",
            "mnist-mini",
            {"test_mse_held_out_angles", "test_mse_mean_code"},
            "generated.png",
        ),
    ],
)
def test_a_few_steps_write_metrics_settings_and_pictures_and_eval_agrees(
    model, dataset, keys, picture, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--model", model, "--dataset", dataset, *SMALL, "--lr", "0.001",
                 "--out", str(out)]) == 0  # fmt: skip
    assert f"{model} on {dataset} test set" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    task = T.TASKS[model].task
    assert (metrics["model"], metrics["dataset"], metrics["task"]) == (model, dataset, task)
    assert keys <= set(metrics["test"])
    assert all(math.isfinite(metrics["test"][k]) for k in keys)
    assert metrics["hyperparameters"] == {
        "epochs": 1, "batch_size": 4, "lr": 0.001, "seed": 1, "train_size": 8, "test_size": 3,
        "optimizer": "adam", "schedule": "cosine per step",
    }  # fmt: skip
    assert len(metrics["history"]) == 1 and metrics["pictures"] == [picture]
    assert (out / picture).stat().st_size > 1000

    # eval rebuilds the model from model.npz and the test scenes from the saved settings.
    again = T.evaluate_task(str(out / "model.npz"), None, None, tmp_path / "eval", log=print)
    assert again.keys() == metrics["test"].keys()
    for key in keys:
        assert again[key] == pytest.approx(metrics["test"][key], rel=1e-5, abs=1e-6)
    assert (tmp_path / "eval" / picture).stat().st_size > 1000


def test_eval_command_reports_a_task_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "pose"
    assert main(["train", "--model", "pose-regressor", "--dataset", "digit-poses-mini", *SMALL,
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out / "model.npz")]) == 0
    printed = capsys.readouterr().out
    assert "pose-regressor on digit-poses-mini (3 test items): centre px" in printed
    assert (out / "poses.png").exists()
    # predict is for classifiers only, and says so.
    assert main(["predict", "--checkpoint", str(out / "model.npz"), str(out / "poses.png")]) == 2
    assert "a task model" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--model", "fcn", "--dataset", "cifar10"],
         "fcn is a segmentation model: it trains on digit-scenes or digit-scenes-mini, not "
         "'cifar10'"),
        (["train", "--model", "pose-regressor", "--dataset", "digit-scenes"],
         "it trains on digit-poses or digit-poses-mini"),
        (["train", "--model", "lenet5", "--dataset", "digit-scenes"],
         "lenet5 is a classifier; digit-scenes is for the task models fcn, rcnn, fast-rcnn"),
        (["train", "--model", "mlp", "--train-size", "10"], "are for the task models"),
        (["train", "--model", "fcn", "--dataset", "digit-scenes-mini", "--optimizer", "sgd"],
         "fcn trains with Adam"),
        (["train", "--model", "rcnn", "--dataset", "digit-scenes-mini", "--resume", "x.npz"],
         "--resume is for the classifiers"),
        (["train", "--model", "fcn", "--dataset", "digit-scenes-mini", "--tensorboard", "tb"],
         "--tensorboard is for the classifiers"),
        (["train", "--model", "fcn", "--dataset", "digit-scenes-mini", "--train-size", "0"],
         "--train-size must be at least 1, not 0"),
        (["train", "--model", "fcn", "--dataset", "digit-scenes-mini", "--lr", "-1"],
         "--lr must be a finite number greater than 0"),
        (["train", "--model", "unet"], "choose from perceptron"),
        (["graph", "--model", "fast-rcnn"], "fast-rcnn is a detection model; graph draws"),
    ],
)  # fmt: skip
def test_mismatched_pairs_and_unsupported_options_are_one_line(args, message, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_recipe_fills_what_is_not_given_and_classifier_defaults_are_unchanged() -> None:
    run = T.resolve(TrainConfig(model="fast-rcnn", dataset="digit-scenes", epochs=4))
    recipe = T.TASKS["fast-rcnn"].recipe
    assert (run.epochs, run.batch_size, run.lr, run.train_size, run.test_size) == (
        4, recipe.batch_size, recipe.lr, recipe.train_size, recipe.test_size)  # fmt: skip
    classifier = TrainConfig(model="mlp")
    assert (classifier.epochs, classifier.batch_size, classifier.optimizer,
            classifier.schedule) == (3, 64, "sgd", "constant")  # fmt: skip


def test_a_new_task_model_is_one_entry(tmp_path: Path, monkeypatch, capsys) -> None:
    pose = T.TASKS["pose-regressor"]
    entry = T.TaskModel("regression", ("digit-poses-mini", "mnist-mini"),
                        lambda: PoseRegressor(width=4),
                        pose.fit, pose.score, T.Recipe(1, 4, 1e-3, 8, 3))  # fmt: skip
    monkeypatch.setitem(T.TASKS, "tiny-pose", entry)
    # A task dataset may share a classifier dataset's name; classifiers still take theirs.
    monkeypatch.setitem(T.TASK_DATASETS, "mnist-mini", T.TASK_DATASETS["digit-poses-mini"])
    assert check_pair("lenet5", "mnist-mini").image_shape == (1, 28, 28)
    out = tmp_path / "tiny"
    assert main(["train", "--model", "tiny-pose", "--dataset", "digit-poses-mini",
                 "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["hyperparameters"]["train_size"] == 8 and "centre_px" in metrics["test"]
    assert main(["train", "--model", "tiny-pose", "--dataset", "mnist-mini", "--no-progress",
                 "--out", str(tmp_path / "named-mnist")]) == 0  # fmt: skip
    assert main(["train", "--model", "tiny-pose", "--dataset", "digit-scenes-mini"]) == 2
    assert "tiny-pose is a regression model" in capsys.readouterr().err


def test_a_damaged_task_model_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    import autograd_cv as ag

    out = tmp_path / "pose"
    assert main(["train", "--model", "pose-regressor", "--dataset", "digit-poses-mini", *SMALL,
                 "--out", str(out)]) == 0  # fmt: skip
    saved = ag.load(out / "model.npz")
    capsys.readouterr()
    for meta, message in [
        ({**saved["meta"], "model": ["fcn"]}, "lacks the model"),
        ({**saved["meta"], "model": "unet"}, "unknown task model 'unet'"),
        ({**saved["meta"], "model": "fcn"}, "is damaged"),  # meta and settings disagree
        (
            {
                "model": "fcn",
                "dataset": "digit-scenes-mini",  # fcn's layers, the pose's weights
                "config": saved["meta"]["config"].replace("pose-regressor", "fcn"),
            },
            "is damaged",
        ),
        ({**saved["meta"], "config": "[1, 2]"}, "is damaged"),
    ]:
        ag.save({**saved, "meta": meta}, tmp_path / "bad.npz")
        assert main(["eval", "--checkpoint", str(tmp_path / "bad.npz")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
