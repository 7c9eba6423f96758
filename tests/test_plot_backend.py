"""The PNG writers draw on their own Figure: they never switch matplotlib's backend.

Switching to Agg at call time (as they once did) turns off a notebook's inline backend, so
every later `plt.show()` in that notebook silently shows nothing.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import autograd_cv as ag
from autograd_cv import nn
from autograd_cv.interpret import adversarial_sheet, overlay, prediction_sheet, save_overlay
from autograd_cv.training import plot_confusion, plot_curves


def _refuse(*args, **kwargs):
    raise AssertionError("a plotting helper switched matplotlib's backend")


def test_png_writers_leave_the_backend_and_pyplot_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(matplotlib, "use", _refuse)
    monkeypatch.setattr(plt, "switch_backend", _refuse)
    figures_before = plt.get_fignums()
    rng = np.random.default_rng(0)
    images = rng.random((4, 1, 6, 6)).astype(np.float32)
    ag.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))

    assert overlay(images[0], rng.random((3, 3))).shape == (6, 6, 3)
    labels, predicted, confidence = [0, 1, 2, 0], [0, 2, 2, 1], [0.9, 0.5, 0.8, 0.4]
    written = [
        save_overlay(images[0], rng.random((3, 3)), tmp_path / "overlay.png"),
        prediction_sheet(images, labels, predicted, confidence, "abc", tmp_path / "sheet.png"),
        adversarial_sheet(model, images, images + 0.01, tmp_path / "adversarial.png"),
    ]
    history = [
        {"epoch": epoch, "train_loss": loss, "train_accuracy": 0.9, "test_accuracy": 0.88}
        for epoch, loss in ((1, 0.5), (2, 0.3))
    ]
    plot_curves(history, tmp_path / "curves.png", title="curves")
    plot_confusion(np.array([[5, 1], [2, 7]]), ("a", "b"), tmp_path / "confusion.png")
    written += [tmp_path / "curves.png", tmp_path / "confusion.png"]

    for path in written:
        assert Image.open(path).size[0] > 20, path
    assert plt.get_fignums() == figures_before  # nothing left open in pyplot
