"""Figure writers leave matplotlib's backend alone, so inline plots in notebooks keep working."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

import autograd_cv as ag
from autograd_cv import nn, training
from autograd_cv.interpret import adversarial_sheet, overlay, prediction_sheet


@pytest.fixture
def pdf_backend():
    # Any backend other than Agg: a writer that switched to Agg would show up here.
    previous = matplotlib.get_backend()
    matplotlib.use("pdf")
    yield
    matplotlib.use(previous)


def test_figure_writers_keep_the_backend(pdf_backend, tmp_path):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    rng = np.random.default_rng(0)
    x = rng.random((2, 1, 4, 4)).astype(np.float32)
    written = [
        adversarial_sheet(model, x, np.clip(x + 0.1, 0, 1), tmp_path / "sheet.png"),
        prediction_sheet(x, [0, 1], [0, 2], [0.9, 0.6], ["a", "b", "c"], tmp_path / "pred.png"),
    ]
    history = [{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.4}]
    training.plot_curves(history, tmp_path / "curves.png", title="t")
    training.plot_confusion(np.array([[3, 1], [0, 4]]), ("a", "b"), tmp_path / "confusion.png")
    written += [tmp_path / "curves.png", tmp_path / "confusion.png"]
    assert overlay(x[0], x[0, 0]).shape == (4, 4, 3)
    assert matplotlib.get_backend() == "pdf"
    for path in written:
        assert Image.open(path).size[0] > 100
