"""The training loop: resumes bit for bit, validates once, builds the model once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.training import Interrupted, TrainConfig, train


def _weights(path: Path) -> dict:
    return ag.load(path)["model"]


def test_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    # Fixed thread counts: the BLAS thread count (which ThreadBudget fits to the machine's
    # load) changes the order of a GEMM's sums and so float32 rounding.
    base = dict(model="mlp", dataset="mnist-mini", batch_size=256, epochs=2, graph=False,
                progress=False, seed=3, adapt_threads=False)  # fmt: skip
    quiet = lambda *_: None  # noqa: E731
    train(TrainConfig(out=str(tmp_path / "straight"), **base), log=quiet)
    with pytest.raises(Interrupted) as stop:
        train(TrainConfig(out=str(tmp_path / "broken"), stop_after_steps=50, **base), log=quiet)
    resumed = TrainConfig(out=str(tmp_path / "broken"), resume=str(stop.value.checkpoint), **base)
    metrics = train(resumed, log=quiet)
    straight, again = (
        _weights(tmp_path / "straight/model.npz"),
        _weights(tmp_path / "broken/model.npz"),
    )
    for key in straight:
        np.testing.assert_array_equal(straight[key], again[key], err_msg=key)
    first = json.loads((tmp_path / "straight/metrics.json").read_text())
    assert metrics["test_accuracy"] == first["test_accuracy"]
    assert metrics["train_loss"] == pytest.approx(first["train_loss"], rel=1e-6)


def test_train_builds_the_model_once_even_when_resuming(tmp_path: Path, monkeypatch) -> None:
    from autograd_cv.training import loop

    built = []
    real = loop.build_model
    monkeypatch.setattr(loop, "build_model", lambda *a: built.append(a) or real(*a))
    base = dict(model="perceptron", dataset="mnist-mini", batch_size=500, graph=False,
                progress=False, out=str(tmp_path / "run"))  # fmt: skip
    quiet = lambda *_: None  # noqa: E731
    with pytest.raises(Interrupted) as stop:
        train(TrainConfig(epochs=1, stop_after_steps=2, **base), log=quiet)
    assert len(built) == 1
    train(TrainConfig(epochs=1, resume=str(stop.value.checkpoint), **base), log=quiet)
    assert len(built) == 2


def test_config_is_built_from_the_parsed_arguments() -> None:
    import argparse

    from autograd_cv import cli

    parser = argparse.ArgumentParser()
    cli._train_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--lr", "0.5", "--no-graph", "--batch-size", "7"])
    config = TrainConfig.from_args(args)
    assert (config.lr, config.graph, config.progress, config.batch_size) == (0.5, False, True, 7)


def test_device_cuda_trains_resumes_and_evaluates_as_the_cpu(tmp_path: Path) -> None:
    # The fake device runs the CPU kernels on arrays that refuse implicit conversion: any
    # step of the loop (batches, labels, accuracy, checkpoints, the graph, eval) that left
    # an array on the wrong device fails here, and the weights must equal the CPU run's.
    from autograd_cv import cli
    from autograd_cv.testing.fake_device import fake_device

    base = dict(model="mlp", dataset="mnist-mini", batch_size=500, epochs=2, progress=False,
                seed=1, adapt_threads=False)  # fmt: skip
    quiet = lambda *_: None  # noqa: E731
    cpu = train(TrainConfig(out=str(tmp_path / "cpu"), graph=False, device="cpu", **base),
                log=quiet)  # fmt: skip
    with fake_device("cuda"):
        with pytest.raises(Interrupted) as stop:
            train(TrainConfig(out=str(tmp_path / "gpu"), stop_after_steps=25, device="cuda",
                              **base), log=quiet)  # fmt: skip
        resumed = TrainConfig(out=str(tmp_path / "gpu"), resume=str(stop.value.checkpoint),
                              device="cuda", **base)  # fmt: skip
        gpu = train(resumed, log=quiet)
        assert gpu["device"] == "cuda" and cpu["device"] == "cpu"
        assert all(p.device == ag.device("cuda:0") for p in gpu["model_object"].parameters())
        assert cli.main(["eval", "--checkpoint", str(tmp_path / "gpu/model.npz"),
                         "--device", "cuda"]) == 0  # fmt: skip
    assert gpu["test_accuracy"] == cpu["test_accuracy"]
    straight, again = _weights(tmp_path / "cpu/model.npz"), _weights(tmp_path / "gpu/model.npz")
    for key in straight:
        np.testing.assert_allclose(straight[key], again[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert (tmp_path / "gpu/graph.svg").exists() or (tmp_path / "gpu/graph.dot").exists()


def test_device_cuda_without_a_gpu_says_why() -> None:
    from autograd_cv.training import UsageError, pick_device

    if ag.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert pick_device("auto") == "cpu"
    with pytest.raises(UsageError, match=r"^--device cuda: "):
        pick_device("cuda")
