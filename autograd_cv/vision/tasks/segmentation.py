"""Semantic segmentation of DigitScenes: train an FCN, score it by mean IoU, draw masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.vision.datasets.digit_scenes import BACKGROUND, IGNORE
from autograd_cv.vision.tasks._common import Log, fit, outputs


def train_segmentation(
    model: Module,
    images: np.ndarray,
    masks: np.ndarray,
    epochs: int = 2,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    log: Log | None = print,
) -> list[dict]:
    """Adam on pixel-wise cross-entropy (ignore_index=255), cosine learning-rate decay."""

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, ag.Tensor]:
        logits = model(ag.tensor(images[index]))
        return {"loss": F.cross_entropy(logits, masks[index], ignore_index=IGNORE)}

    return fit(model, len(images), loss_terms, epochs, batch_size, lr, seed, log)


def predict_masks(model: Module, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N, H, W) class of each pixel (argmax of the logits), in eval mode without a graph."""
    return outputs(model, images, batch_size, each=lambda logits: logits.argmax(axis=1))


def confusion_matrix(
    predicted: np.ndarray, target: np.ndarray, num_classes: int = 11
) -> np.ndarray:
    """(true, predicted) pixel counts over the pixels whose target is not 255 (ignored)."""
    kept = target != IGNORE
    pairs = target[kept].astype(np.int64) * num_classes + predicted[kept]
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def segmentation_scores(confusion: np.ndarray) -> dict:
    """Mean IoU over the classes present (in truth or prediction), pixel accuracy, IoU per class."""
    true_positive = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    present = union > 0
    iou = np.where(present, true_positive / np.maximum(union, 1), np.nan)
    return {
        "mean_iou": float(np.nanmean(iou)),
        "pixel_accuracy": float(true_positive.sum() / confusion.sum()),
        "iou": [None if np.isnan(v) else float(v) for v in iou],
    }


# 10 digit colours (tab10) and black for the background; grey for ignored pixels.
_COLOURS = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
     [0, 0, 0]], dtype=np.uint8,
)  # fmt: skip


def colour_masks(masks: np.ndarray) -> np.ndarray:
    """(..., H, W) class masks as (..., H, W, 3) uint8 colours (ignored pixels white)."""
    out = _COLOURS[np.minimum(masks, BACKGROUND)]
    out[masks == IGNORE] = 255
    return out


def plot_segmentation(
    images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, path: str | Path | None = None
):
    """Rows of image / true mask / predicted mask; saved as a PNG when `path` is given.

    Draws on a bare Figure (no pyplot, no backend switch) and returns it."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = len(images)
    figure = Figure(figsize=(6, 2 * rows + 0.4))
    axes = figure.subplots(rows, 3, squeeze=False)
    for row in range(rows):
        panels = (images[row, 0], colour_masks(truth[row]), colour_masks(predicted[row]))
        for column, (axis, panel) in enumerate(zip(axes[row], panels)):
            axis.imshow(panel, cmap="gray" if column == 0 else None, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
    for axis, title in zip(axes[0], ("image", "truth", "prediction")):
        axis.set_title(title)
    handles = [Patch(color=_COLOURS[c] / 255, label=str(c)) for c in range(10)]
    figure.legend(handles=handles, loc="lower center", ncol=10, fontsize=7, handlelength=1)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    if path is not None:
        figure.savefig(path, dpi=80)
    return figure
