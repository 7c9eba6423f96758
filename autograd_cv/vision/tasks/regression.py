"""Pose regression on DigitPoses: centre, scale and angle by a CNN and smooth L1."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.vision.tasks._common import Log, fit, outputs


class PoseScaler:
    """Poses (cx, cy, scale, angle) to numbers of order 1 for the network, and back."""

    def __init__(self, size: int, scale: tuple[float, float], angle: tuple[float, float]) -> None:
        self.offset = np.array([size / 2, size / 2, sum(scale) / 2, sum(angle) / 2], np.float32)
        self.spread = np.array(
            [size / 2, size / 2, (scale[1] - scale[0]) / 2, (angle[1] - angle[0]) / 2], np.float32
        )

    def encode(self, poses: np.ndarray) -> np.ndarray:
        return ((poses - self.offset) / self.spread).astype(np.float32)

    def decode(self, values: np.ndarray) -> np.ndarray:
        return values * self.spread + self.offset


def train_pose(
    model: Module, images: np.ndarray, targets: np.ndarray, epochs: int = 3,
    batch_size: int = 64, lr: float = 2e-3, beta: float = 0.1, seed: int = 0,
    log: Log | None = print,
) -> list[dict]:  # fmt: skip
    """Adam on smooth L1 (`beta` in scaled units) between outputs and scaled poses."""

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, ag.Tensor]:
        outputs = model(ag.tensor(images[index]))
        return {"loss": F.smooth_l1_loss(outputs, targets[index], beta=beta)}

    return fit(model, len(images), loss_terms, epochs, batch_size, lr, seed, log)


def predict(model: Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for all images, in eval mode without a graph."""
    return outputs(model, images, batch_size)


def pose_errors(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Mean absolute errors: centre distance (px), scale (relative), angle (degrees)."""
    return {
        "centre_px": float(np.linalg.norm(predicted[:, :2] - truth[:, :2], axis=1).mean()),
        "x_px": float(np.abs(predicted[:, 0] - truth[:, 0]).mean()),
        "y_px": float(np.abs(predicted[:, 1] - truth[:, 1]).mean()),
        "scale_relative": float(np.abs(predicted[:, 2] / truth[:, 2] - 1).mean()),
        "angle_degrees": float(np.abs(predicted[:, 3] - truth[:, 3]).mean()),
    }


def plot_poses(images: np.ndarray, predicted: np.ndarray, truth: np.ndarray,
               path: str | Path | None = None):  # fmt: skip
    """Each image with the true (green) and predicted (red) centre and axis of the digit."""
    from matplotlib.figure import Figure

    columns = min(6, len(images))
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(1.8 * columns, 1.9 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, image, guess, pose in zip(axes.ravel(), images, predicted, truth):
        axis.imshow(image[0], cmap="gray", vmin=0, vmax=1)
        for (cx, cy, scale, angle), colour in ((pose, "lime"), (guess, "red")):
            # The digit's upright axis, turned by `angle` (counter-clockwise on screen).
            theta = np.deg2rad(angle)
            dx, dy = -np.sin(theta) * 10 * scale, -np.cos(theta) * 10 * scale
            axis.plot([cx - 0.5 - dx, cx - 0.5 + dx], [cy - 0.5 - dy, cy - 0.5 + dy], color=colour)
            axis.plot(cx - 0.5, cy - 0.5, "o", color=colour, markersize=3)
        axis.set_title(f"{pose[3]:.0f}° / {guess[3]:.0f}°", fontsize=7)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=90)
    return figure
