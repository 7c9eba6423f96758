"""What a run leaves behind: metrics.json, the curves, the confusion matrix, the graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from autograd_cv import nn
from autograd_cv.data import DataLoader
from autograd_cv.serialization import atomic_file
from autograd_cv.training.registry import forward, loss_fn, transforms


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    with atomic_file(path, "w") as handle:
        json.dump(data, handle, indent=2)


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, side by side."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    # A bare Figure, not pyplot: no backend switch, so a notebook's inline plots keep working.
    figure = Figure(figsize=(9, 3.5))
    left, right = figure.subplots(1, 2)
    left.plot(epochs, [h["train_loss"] for h in history], "o-")
    left.set(xlabel="epoch", ylabel="train loss", title="loss")
    right.plot(epochs, [h["train_accuracy"] for h in history], "o-", label="train")
    right.plot(epochs, [h["test_accuracy"] for h in history], "s-", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    right.legend()
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_confusion(confusion: np.ndarray, classes: tuple[str, ...], path: Path) -> None:
    """The confusion matrix as a labelled heat map."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 5.5))
    axis = figure.subplots()
    image = axis.imshow(confusion, cmap="Blues")
    accuracy = np.trace(confusion) / confusion.sum()
    ticks = range(len(classes))
    axis.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true",
             title=f"accuracy {accuracy:.4f}")  # fmt: skip
    axis.set_xticklabels(classes, rotation=45, ha="right")
    axis.set_yticklabels(classes)
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            colour = "white" if count > confusion.max() / 2 else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def confusion_text(confusion: np.ndarray, classes: tuple[str, ...]) -> str:
    """The confusion matrix as aligned text (rows: true, columns: predicted)."""
    width = max(5, max(len(str(confusion.max())), 1) + 1)
    short = [c[: width - 1] for c in classes]
    lines = ["true \\ pred".ljust(14) + "".join(s.rjust(width) for s in short)]
    for name, row in zip(classes, confusion):
        lines.append(name[:13].ljust(14) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def write_graph(model: nn.Module, dataset: Any, dataset_name: str, path: Path) -> bool:
    """Render the graph of one training step (batch of 2) when graphviz's `dot` exists."""
    import shutil

    if shutil.which("dot") is None:
        return False
    from autograd_cv import viz

    loader = DataLoader(dataset, 2, transform=transforms(dataset_name, train=False))
    images, labels = next(iter(loader))
    loss = loss_fn(model, forward(model, images), labels)
    graph = viz.draw_graph(loss, model=model)
    viz.render(graph, path)
    return True
