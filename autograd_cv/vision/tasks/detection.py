"""Object detection on DigitScenes: region proposals, R-CNN and Fast R-CNN, mAP at IoU 0.5.

Proposals stand in for selective search: boxes of the connected ink components at a few
thresholds and dilations (digits that touch merge, so each component's box is also split
into left/right and top/bottom halves), plus a coarse multi-shape sliding window kept only
where it holds ink. Both detectors score every proposal over 11 classes (10 digits and
background) and regress a class-agnostic box correction (R-CNN's deltas), trained on
proposals sampled per image (IoU >= 0.5 with a digit: that digit; < 0.4: background), half
of them digits: with a quarter (Fast R-CNN's ratio) the classifier saw too few digits and
learned more slowly (1,000 scenes x 500 steps: test mAP 0.52 against 0.60).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.kernels.regions import component_boxes
from autograd_cv.nn.module import Module
from autograd_cv.vision.ops import batched_nms
from autograd_cv.vision.tasks._common import Log, batches, fit

BACKGROUND = 10
#: deltas are divided by these before the loss (R-CNN's normalisation)
DELTA_SCALE = np.array([0.1, 0.1, 0.2, 0.2])


# ----- proposals --------------------------------------------------------------------------
def _dilate(ink: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return ink
    h, w = ink.shape[1:]
    padded = np.pad(ink, ((0, 0), (radius, radius), (radius, radius)))
    out = np.zeros_like(ink)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[:, dy : dy + h, dx : dx + w]
    return out


def _halves(boxes: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = boxes.T
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.concatenate([
        np.stack([x1, y1, cx, y2], 1), np.stack([cx, y1, x2, y2], 1),
        np.stack([x1, y1, x2, cy], 1), np.stack([x1, cy, x2, y2], 1),
    ])  # fmt: skip


def _windows(size: int, shapes: tuple[tuple[int, int], ...], stride: int) -> np.ndarray:
    boxes = []
    for w, h in shapes:
        for top in range(0, size - h + 1, stride):
            for left in range(0, size - w + 1, stride):
                boxes.append([left, top, left + w, top + h])
    return np.asarray(boxes, dtype=np.float32)


WINDOW_SHAPES = ((8, 20), (16, 20), (24, 24), (12, 30), (24, 32), (32, 32))


def propose_regions(images: np.ndarray, stride: int = 4) -> list[np.ndarray]:
    """Per (1, H, W) image, candidate boxes (x1, y1, x2, y2): component boxes, their halves,
    and sliding windows that hold ink; each box once."""
    planes = images[:, 0]
    found: list[list[np.ndarray]] = [[] for _ in planes]
    for threshold in (0.2, 0.5):
        for radius in (0, 1, 3):
            for i, boxes in enumerate(component_boxes(_dilate(planes > threshold, radius))):
                found[i] += [boxes, _halves(boxes)]
    windows = _windows(planes.shape[-1], WINDOW_SHAPES, stride)
    integral = np.pad((planes > 0.5).cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    x1, y1, x2, y2 = windows.T.astype(np.int64)
    ink = integral[:, y2, x2] - integral[:, y1, x2] - integral[:, y2, x1] + integral[:, y1, x1]
    out = []
    for i in range(len(planes)):
        # Windows whose ink is at least 15% of their area: on a digit, not beside one.
        kept = windows[ink[i] >= 0.15 * (x2 - x1) * (y2 - y1)]
        boxes = np.concatenate(found[i] + [kept])
        boxes = boxes[(boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 4)]
        out.append(np.unique(boxes, axis=0))
    return out


def pair_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """(N, M) IoU of two sets of (x1, y1, x2, y2) boxes, on plain arrays (no graph)."""
    boxes1, boxes2 = np.asarray(boxes1, np.float64), np.asarray(boxes2, np.float64)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    width = np.minimum(boxes1[:, None, 2], boxes2[None, :, 2]) - np.maximum(
        boxes1[:, None, 0], boxes2[None, :, 0]
    )
    height = np.minimum(boxes1[:, None, 3], boxes2[None, :, 3]) - np.maximum(
        boxes1[:, None, 1], boxes2[None, :, 1]
    )
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    return inter / np.maximum(area1[:, None] + area2[None, :] - inter, 1e-12)


# ----- box deltas -------------------------------------------------------------------------
def encode_deltas(proposals: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """R-CNN's (dx, dy, dw, dh) taking proposals to targets, divided by DELTA_SCALE."""
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + pw / 2, proposals[:, 1] + ph / 2
    tw, th = targets[:, 2] - targets[:, 0], targets[:, 3] - targets[:, 1]
    tx, ty = targets[:, 0] + tw / 2, targets[:, 1] + th / 2
    deltas = np.stack([(tx - px) / pw, (ty - py) / ph, np.log(tw / pw), np.log(th / ph)], 1)
    return (deltas / DELTA_SCALE).astype(np.float32)


def decode_deltas(proposals: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Boxes given by applying (scaled) deltas to proposals; inverse of `encode_deltas`."""
    deltas = deltas * DELTA_SCALE
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + pw / 2, proposals[:, 1] + ph / 2
    cx, cy = px + deltas[:, 0] * pw, py + deltas[:, 1] * ph
    w, h = pw * np.exp(np.clip(deltas[:, 2], -4, 4)), ph * np.exp(np.clip(deltas[:, 3], -4, 4))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def label_proposals(
    proposals: np.ndarray, boxes: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per proposal: its class (background below IoU 0.4, -1 between 0.4 and 0.5: unused),
    its best-matching digit's deltas, and that best IoU."""
    if not len(boxes):
        count = len(proposals)
        return np.full(count, BACKGROUND), np.zeros((count, 4), np.float32), np.zeros(count)
    iou = pair_iou(proposals, boxes)
    best = iou.argmax(1)
    best_iou = iou[np.arange(len(proposals)), best]
    classes = np.where(best_iou >= 0.5, labels[best], np.where(best_iou < 0.4, BACKGROUND, -1))
    return classes, encode_deltas(proposals, boxes[best]), best_iou


def label_all(
    proposals: list[np.ndarray], boxes: list, labels: list
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per image, once before training: its candidates (the proposals and the true boxes),
    their classes and their deltas (see `label_proposals`)."""
    out = []
    for candidates, truth, names in zip(proposals, boxes, labels):
        candidates = np.concatenate([candidates, truth]).astype(np.float32)
        cls, delta, _ = label_proposals(candidates, truth, names)
        out.append((candidates, cls, delta))
    return out


def sample_rois(
    labelled: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    per_image: int,
    rng: np.random.Generator,
    positive_fraction: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, 5) RoIs (image index first), their classes and deltas, from `label_all`'s
    output: up to `positive_fraction` digits per image, the rest background."""
    rois, classes, deltas = [], [], []
    for i, (candidates, cls, delta) in enumerate(labelled):
        positive = np.flatnonzero((cls >= 0) & (cls < BACKGROUND))
        negative = np.flatnonzero(cls == BACKGROUND)
        positive = rng.permutation(positive)[: int(per_image * positive_fraction)]
        negative = rng.permutation(negative)[: per_image - len(positive)]
        chosen = np.concatenate([positive, negative])
        rois.append(np.concatenate([np.full((len(chosen), 1), i), candidates[chosen]], 1))
        classes.append(cls[chosen])
        deltas.append(delta[chosen])
    return np.concatenate(rois).astype(np.float32), np.concatenate(classes), np.concatenate(deltas)


# ----- training and inference -------------------------------------------------------------
def detection_loss(scores: ag.Tensor, deltas: ag.Tensor, classes: np.ndarray,
                   targets: np.ndarray) -> tuple[ag.Tensor, ag.Tensor]:  # fmt: skip
    """Cross-entropy over 11 classes, and smooth L1 on the deltas of digit RoIs only."""
    classification = F.cross_entropy(scores, classes)
    digit = (classes < BACKGROUND).astype(np.float32)[:, None]
    regression = F.smooth_l1_loss(deltas * digit, targets * digit, reduction="sum", beta=1.0)
    return classification, regression / max(1.0, float(digit.sum()))


def train_detector(
    model: Module,
    images: np.ndarray,
    boxes: list,
    labels: list,
    proposals: list[np.ndarray],
    epochs: int = 2,
    batch_size: int = 8,
    rois_per_image: int = 32,
    positive_fraction: float = 0.5,
    lr: float = 2e-3,
    seed: int = 0,
    log: Log | None = print,
) -> list[dict]:
    """Adam on classification + box regression of RoIs sampled per image; cosine decay."""

    labelled = label_all(proposals, boxes, labels)

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, ag.Tensor]:
        rois, classes, targets = sample_rois(
            [labelled[i] for i in index], rois_per_image, rng, positive_fraction
        )
        scores, deltas = model(ag.tensor(images[index]), rois)
        classification, regression = detection_loss(scores, deltas, classes, targets)
        return {"classification": classification, "regression": regression}

    return fit(model, len(images), loss_terms, epochs, batch_size, lr, seed, log)


def detect(
    model: Module,
    images: np.ndarray,
    proposals: list[np.ndarray],
    batch_size: int = 16,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.3,
) -> list[dict]:
    """Per image: boxes, labels and scores after per-class NMS."""
    model.eval()
    results = []
    with ag.no_grad():
        for index in batches(len(images), batch_size, None):
            rois = np.concatenate([
                np.concatenate([np.full((len(proposals[i]), 1), k), proposals[i]], 1)
                for k, i in enumerate(index)
            ]).astype(np.float32)  # fmt: skip
            scores, deltas = model(ag.tensor(images[index]), rois)
            probabilities = F.softmax(scores, axis=1).numpy()
            refined = decode_deltas(rois[:, 1:], deltas.numpy())
            size = images.shape[-1]
            refined = np.clip(refined, 0, size)
            for k in range(len(index)):
                mine = rois[:, 0] == k
                p = probabilities[mine, :BACKGROUND]
                label, score = p.argmax(1), p.max(1)
                keep = score >= score_threshold
                b, label, score = refined[mine][keep], label[keep], score[keep]
                kept = batched_nms(b, score, label, iou_threshold)
                results.append({"boxes": b[kept], "labels": label[kept], "scores": score[kept]})
    return results


def average_precision(detections: list[dict], boxes: list, labels: list, iou: float = 0.5,
                      num_classes: int = 10) -> dict:  # fmt: skip
    """VOC-style AP per class (area under the interpolated precision-recall curve), and mAP."""
    per_class = []
    for c in range(num_classes):
        records, total = [], 0
        for found, truth, names in zip(detections, boxes, labels):
            truth = truth[names == c]
            total += len(truth)
            mine = found["labels"] == c
            b, s = found["boxes"][mine], found["scores"][mine]
            order = np.argsort(-s)
            matched = np.zeros(len(truth), dtype=bool)
            for j in order:
                hit = False
                if len(truth):
                    overlaps = pair_iou(b[j : j + 1], truth)[0]
                    best = int(overlaps.argmax())
                    if overlaps[best] >= iou and not matched[best]:
                        matched[best] = hit = True
                records.append((s[j], hit))
        if total == 0:
            continue
        records.sort(key=lambda r: -r[0])
        hits = np.array([h for _, h in records], dtype=np.float64)
        tp, fp = np.cumsum(hits), np.cumsum(1 - hits)
        recall = np.concatenate([[0], tp / total, [1]])
        precision = np.concatenate([[1], tp / np.maximum(tp + fp, 1), [0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.flatnonzero(recall[1:] != recall[:-1])
        per_class.append(float(((recall[steps + 1] - recall[steps]) * precision[steps + 1]).sum()))
    return {"map": float(np.mean(per_class)), "ap": per_class}


def proposal_recall(proposals: list[np.ndarray], boxes: list, iou: float = 0.5) -> float:
    """Fraction of true boxes with some proposal at IoU >= `iou`."""
    hit = total = 0
    for candidates, truth in zip(proposals, boxes):
        if len(truth):
            hit += int((pair_iou(candidates, truth).max(0) >= iou).sum())
            total += len(truth)
    return hit / max(total, 1)


def plot_detections(images: np.ndarray, detections: list[dict], path: str | Path | None = None,
                    classes: list[str] | None = None, min_score: float = 0.5):  # fmt: skip
    """Images with detected boxes, labels and scores; saved as a PNG when `path` is given."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    columns = min(4, len(images))
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(2.6 * columns, 2.6 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, image, found in zip(axes.ravel(), images, detections):
        axis.imshow(image[0], cmap="gray", vmin=0, vmax=1)
        for box, label, score in zip(found["boxes"], found["labels"], found["scores"]):
            if score < min_score:
                continue
            x1, y1, x2, y2 = box - 0.5  # pixel edges to imshow's pixel-centre coordinates
            axis.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="lime", lw=1.2))
            name = classes[label] if classes else str(label)
            axis.text(x1, y1 - 1, f"{name} {score:.2f}", color="black", fontsize=7,
                      bbox={"facecolor": "lime", "pad": 0.5, "lw": 0})  # fmt: skip
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=90)
    return figure
