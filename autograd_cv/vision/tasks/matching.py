"""Patch matching with a siamese network: triplets of real digits, a triplet loss, and the
ROC AUC, false-positive rate at 95% recall and nearest-neighbour retrieval of the embedding
against raw-pixel distance.

Two kinds of match: "class" (two different instances of one digit class match, digits of
different classes do not) and "instance" (one digit under two small random warps matches;
other digits, half of them of the same class, do not).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.vision.datasets.digit_scenes import load_digits
from autograd_cv.vision.tasks._common import Log, fit, outputs

MODES = ("class", "instance")
#: the default small warp: shift (px), rotation (degrees), scale range, noise (std)
WARP = {"shift": 2.0, "angle": 12.0, "scale": (0.9, 1.1), "noise": 0.05}


def load_patches(
    source: str = "mnist", train: bool = True, root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(N, 1, 28, 28) float32 digits in [0, 1] and their (N,) labels, from one split."""
    images, labels = load_digits(source, train, root, download)
    return (images[:, None] / np.float32(255)).astype(np.float32), labels.astype(np.int64)


def _check_mode(mode: str, op: str) -> None:
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {MODES}, got {mode!r}")


def _check_digits(images: np.ndarray, labels: np.ndarray, op: str) -> None:
    if images.ndim != 4 or labels.shape != (len(images),):
        raise ValueError(
            f"{op}: expected (N, C, H, W) images and (N,) labels, got shapes {images.shape} "
            f"and {labels.shape}"
        )


def warp(
    images: np.ndarray, rng: np.random.Generator, shift: float = WARP["shift"],
    angle: float = WARP["angle"], scale: tuple[float, float] = WARP["scale"],
    noise: float = WARP["noise"],
) -> np.ndarray:  # fmt: skip
    """Each (C, H, W) image moved by up to `shift` px, turned by up to `angle` degrees and
    scaled in `scale` about its centre (bilinear, zeros outside), plus Gaussian `noise`."""
    if images.ndim != 4:
        raise ValueError(f"warp: expected (N, C, H, W) images, got shape {images.shape}")
    count, _, height, width = images.shape
    theta = np.deg2rad(rng.uniform(-angle, angle, count))
    factor = rng.uniform(*scale, count)
    move = rng.uniform(-shift, shift, (count, 2))
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    rows, cols = np.indices((height, width), dtype=np.float64)
    # The inverse map: output pixel -> source point, (p - centre - move) turned back, unscaled.
    y = rows[None] - centre_y - move[:, 1, None, None]
    x = cols[None] - centre_x - move[:, 0, None, None]
    cos, sin = (np.cos(theta) / factor)[:, None, None], (np.sin(theta) / factor)[:, None, None]
    source_x = cos * x + sin * y + centre_x
    source_y = -sin * x + cos * y + centre_y
    left, top = np.floor(source_x).astype(np.int64), np.floor(source_y).astype(np.int64)
    right_weight, bottom_weight = source_x - left, source_y - top
    batch = np.arange(count)[:, None, None]
    out = np.zeros(images.shape, dtype=np.float64)
    for dy, weight_y in ((0, 1 - bottom_weight), (1, bottom_weight)):
        for dx, weight_x in ((0, 1 - right_weight), (1, right_weight)):
            row, col = top + dy, left + dx
            inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
            values = images[batch, :, np.clip(row, 0, height - 1), np.clip(col, 0, width - 1)]
            # values: (N, H, W, C) from the advanced indexing around the channel slice
            out += np.moveaxis(values, -1, 1) * (weight_y * weight_x * inside)[:, None]
    if noise > 0:
        out += rng.normal(0.0, noise, out.shape)
    return np.clip(out, 0.0, 1.0).astype(images.dtype)


def _by_class(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indices sorted by class, each class's start and count, each index's place in its class."""
    order = np.argsort(labels, kind="stable")
    classes = labels.max() + 1
    counts = np.bincount(labels, minlength=classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    place = np.empty(len(labels), dtype=np.int64)
    place[order] = np.arange(len(labels)) - starts[labels[order]]
    return order, starts, counts, place


def _same_class(anchors: np.ndarray, labels: np.ndarray, table, rng) -> np.ndarray:
    """A random other member of each anchor's class (the anchor itself if it is alone)."""
    order, starts, counts, place = table
    classes = labels[anchors]
    size = counts[classes]
    step = 1 + (rng.random(len(anchors)) * np.maximum(size - 1, 1)).astype(np.int64)
    return order[starts[classes] + (place[anchors] + np.where(size > 1, step, 0)) % size]


def _other_class(anchors: np.ndarray, labels: np.ndarray, table, rng) -> np.ndarray:
    """A random member of a random class other than each anchor's (classes present only)."""
    order, starts, counts, _ = table
    present = np.flatnonzero(counts)
    if len(present) < 2:
        raise ValueError("matching: negatives of another class need at least two classes")
    where = np.searchsorted(present, labels[anchors])
    others = present[(where + rng.integers(1, len(present), len(anchors))) % len(present)]
    return order[starts[others] + (rng.random(len(anchors)) * counts[others]).astype(np.int64)]


def _other_instance(anchors: np.ndarray, labels: np.ndarray, table, rng) -> np.ndarray:
    """Another digit: of the anchor's class or of another class, each half of the time."""
    same = _same_class(anchors, labels, table, rng)
    other = _other_class(anchors, labels, table, rng)
    return np.where((rng.random(len(anchors)) < 0.5) & (same != anchors), same, other)


def sample_triplets(
    images: np.ndarray, labels: np.ndarray, anchors: np.ndarray, mode: str,
    rng: np.random.Generator, table=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(anchor, positive, negative) patches for the given anchor indices.

    "class": a positive is another digit of the anchor's class, a negative one of another
    class. "instance": anchor and positive are two warps of one digit, the negative a warp of
    another digit (half of the time of the same class)."""
    _check_mode(mode, "sample_triplets")
    table = _by_class(labels) if table is None else table
    if mode == "class":
        positives = _same_class(anchors, labels, table, rng)
        negatives = _other_class(anchors, labels, table, rng)
        return images[anchors], images[positives], images[negatives]
    negatives = _other_instance(anchors, labels, table, rng)
    return (warp(images[anchors], rng), warp(images[anchors], rng), warp(images[negatives], rng))


def train_matching(
    model: Module, images: np.ndarray, labels: np.ndarray, mode: str = "class",
    epochs: int = 2, batch_size: int = 64, lr: float = 2e-3, margin: float = 0.5,
    seed: int = 0, log: Log | None = print,
) -> list[dict]:  # fmt: skip
    """Adam on the triplet margin loss between embeddings (every digit an anchor per epoch)."""
    _check_mode(mode, "train_matching")
    _check_digits(images, labels, "train_matching")
    table = _by_class(labels)

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, ag.Tensor]:
        anchor, positive, negative = sample_triplets(images, labels, index, mode, rng, table)
        # One batch through the shared branch, then split into its three parts.
        embedded = model(ag.tensor(np.concatenate([anchor, positive, negative])))
        count = len(index)
        parts = embedded[:count], embedded[count : 2 * count], embedded[2 * count :]
        return {"triplet": F.triplet_margin_loss(*parts, margin=margin)}

    return fit(model, len(images), loss_terms, epochs, batch_size, lr, seed, log)


def embed(model: Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, D) embeddings of all images, in eval mode without a graph."""
    return outputs(model, images, batch_size)


def held_out_pairs(
    images: np.ndarray, labels: np.ndarray, count: int, mode: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` pairs of patches (first, second) and whether each pair matches; half match.

    Deterministic for a seed; built from whatever split `images` holds (the test split for
    held-out figures)."""
    _check_mode(mode, "held_out_pairs")
    _check_digits(images, labels, "held_out_pairs")
    rng = np.random.default_rng((seed, MODES.index(mode), 19))
    table = _by_class(labels)
    anchors = rng.choice(len(images), size=count, replace=count > len(images))
    same = np.arange(count) < count // 2
    if mode == "class":
        partners = np.where(
            same,
            _same_class(anchors, labels, table, rng),
            _other_class(anchors, labels, table, rng),
        )
        return images[anchors], images[partners], same
    partners = np.where(same, anchors, _other_instance(anchors, labels, table, rng))
    return warp(images[anchors], rng), warp(images[partners], rng), same


def roc_auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve for "a smaller distance means a match": the chance that a
    matching pair is closer than a non-matching one, ties counting one half."""
    distances, same = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=bool)
    positives, negatives = same.sum(), (~same).sum()
    if distances.shape != same.shape or positives == 0 or negatives == 0:
        raise ValueError(
            f"roc_auc: need distances and same of one shape with both kinds of pair, got "
            f"shapes {distances.shape} and {same.shape}, {positives} matching"
        )
    # Mann-Whitney: ranks of -distance (average ranks over ties), the positives' rank sum.
    _, inverse, counts = np.unique(-distances, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2
    rank_sum = average_rank[inverse.ravel()][same].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def fpr_at_recall(distances: np.ndarray, same: np.ndarray, recall: float = 0.95) -> float:
    """False-positive rate at the smallest distance threshold that accepts `recall` of the
    matching pairs (a pair is accepted when its distance is <= the threshold)."""
    distances, same = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=bool)
    if distances.shape != same.shape or same.all() or not same.any() or not 0 < recall <= 1:
        raise ValueError(
            f"fpr_at_recall: need distances and same of one shape with both kinds of pair and "
            f"0 < recall <= 1, got shapes {distances.shape}, {same.shape}, recall {recall}"
        )
    positive = np.sort(distances[same])
    # The k-th smallest matching distance accepts k matches; the first k reaching `recall`.
    needed = int(np.ceil(recall * len(positive) - 1e-9))
    threshold = positive[max(needed, 1) - 1]
    return float((distances[~same] <= threshold).mean())


def nearest(queries: np.ndarray, gallery: np.ndarray, k: int = 1, chunk: int = 1024) -> np.ndarray:
    """(Q, k) indices of each query's k nearest gallery rows (Euclidean), nearest first."""
    queries = queries.reshape(len(queries), -1).astype(np.float64)
    gallery = gallery.reshape(len(gallery), -1).astype(np.float64)
    squares = (gallery**2).sum(1)
    found = []
    for start in range(0, len(queries), chunk):
        part = queries[start : start + chunk]
        # ||q - g||^2 up to the query's own constant ||q||^2, which does not change the order.
        distance = squares[None] - 2 * part @ gallery.T
        top = np.argpartition(distance, min(k, len(gallery) - 1), axis=1)[:, :k]
        ranked = np.argsort(np.take_along_axis(distance, top, 1), axis=1, kind="stable")
        found.append(np.take_along_axis(top, ranked, 1))
    return np.concatenate(found)


def retrieval_accuracy(
    queries: np.ndarray, query_labels: np.ndarray, gallery: np.ndarray, gallery_labels: np.ndarray
) -> float:
    """Fraction of queries whose nearest gallery row has the query's label (top-1)."""
    return float((gallery_labels[nearest(queries, gallery)[:, 0]] == query_labels).mean())


def retrieval_sets(
    images: np.ndarray, labels: np.ndarray, count: int, mode: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(queries, query labels, gallery, gallery labels) for top-1 retrieval.

    "class": `count` digits query a gallery of `count` other digits by class. "instance":
    one warp of each of `count` digits queries a gallery of other warps of the same digits;
    the right answer is the same digit (its index)."""
    _check_mode(mode, "retrieval_sets")
    _check_digits(images, labels, "retrieval_sets")
    rng = np.random.default_rng((seed, MODES.index(mode), 23))
    if mode == "class":
        if 2 * count > len(images):
            raise ValueError(f"retrieval_sets: {2 * count} digits needed, {len(images)} given")
        picked = rng.permutation(len(images))[: 2 * count]
        query, gallery = picked[:count], picked[count:]
        return images[query], labels[query], images[gallery], labels[gallery]
    picked = rng.permutation(len(images))[:count]
    ids = np.arange(len(picked))
    return warp(images[picked], rng), ids, warp(images[picked], rng), ids


def evaluate_matching(
    model: Module, images: np.ndarray, labels: np.ndarray, mode: str = "class",
    pairs: int = 2000, gallery: int = 1000, seed: int = 0,
) -> dict:  # fmt: skip
    """AUC, FPR at 95% recall and top-1 retrieval of the embedding and of raw pixels."""
    first, second, same = held_out_pairs(images, labels, pairs, mode, seed)
    queries, query_labels, shown, shown_labels = retrieval_sets(images, labels, gallery, mode, seed)
    scores = {}
    for name, describe in (("", lambda x: embed(model, x)), ("pixel_", _flat)):
        distance = np.linalg.norm(describe(first) - describe(second), axis=1)
        scores[f"{name}auc"] = roc_auc(distance, same)
        scores[f"{name}fpr95"] = fpr_at_recall(distance, same)
        scores[f"{name}top1"] = retrieval_accuracy(
            describe(queries), query_labels, describe(shown), shown_labels
        )
    return scores


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def pair_distances(model: Module, first: np.ndarray, second: np.ndarray) -> dict:
    """Distances of each pair in the embedding ("learned") and between raw pixels ("pixels")."""
    return {
        "learned": np.linalg.norm(embed(model, first) - embed(model, second), axis=1),
        "pixels": np.linalg.norm(_flat(first) - _flat(second), axis=1),
    }


def _column_title(column: int, neighbours: int) -> str:
    if column == 0:
        return "query"
    if column <= neighbours:
        return f"learned {column}"
    return f"pixels {column - neighbours}"


def plot_matching(
    model: Module, queries: np.ndarray, gallery: np.ndarray, distances: dict,
    same: np.ndarray, path: str | Path | None = None, neighbours: int = 4,
    query_labels: np.ndarray | None = None, gallery_labels: np.ndarray | None = None,
):  # fmt: skip
    """Query patches with their nearest gallery patches (learned embedding, then raw pixels;
    framed green where the label matches the query's, red where not, when labels are given),
    and histograms of matching / non-matching pair `distances`; a PNG when `path` is given."""
    from matplotlib.figure import Figure

    neighbours = min(neighbours, len(gallery))  # a small gallery shows all it has
    found = {
        "learned": nearest(embed(model, queries), embed(model, gallery), neighbours),
        "pixels": nearest(_flat(queries), _flat(gallery), neighbours),
    }
    rows, columns = len(queries), 1 + 2 * neighbours
    figure = Figure(figsize=(1.0 * columns + 0.6, 1.05 * rows + 2.4))
    grid = figure.add_gridspec(rows + 2, columns)
    for row, query in enumerate(queries):
        panels = [query] + [gallery[i] for i in found["learned"][row]]
        panels += [gallery[i] for i in found["pixels"][row]]
        for column, panel in enumerate(panels):
            axis = figure.add_subplot(grid[row, column])
            axis.imshow(panel[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(_column_title(column, neighbours), fontsize=8)
            if column and query_labels is not None and gallery_labels is not None:
                method = "learned" if column <= neighbours else "pixels"
                hit = gallery_labels[found[method][row][(column - 1) % neighbours]]
                for spine in axis.spines.values():
                    spine.set_edgecolor("tab:green" if hit == query_labels[row] else "tab:red")
                    spine.set_linewidth(2.5)
    half = columns // 2
    for span, (name, distance) in zip(
        (slice(0, half), slice(half + 1, columns)), distances.items()
    ):
        axis = figure.add_subplot(grid[rows:, span])
        edges = np.linspace(0, distance.max() * 1.02, 40)
        axis.hist(distance[same], edges, alpha=0.6, label="matching", color="tab:green")
        axis.hist(distance[~same], edges, alpha=0.6, label="non-matching", color="tab:red")
        axis.set_title(f"{name}: pair distances (AUC {roc_auc(distance, same):.3f})", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=7)
    figure.subplots_adjust(left=0.04, right=0.97, top=0.95, bottom=0.05, hspace=0.45)
    if path is not None:
        figure.savefig(path, dpi=80)
    return figure
