"""Detection ops with torchvision.ops's names and arguments.

`box_iou`, `box_area` and `box_convert` are compositions of recorded ops (differentiable
when given Tensors); `nms` and `batched_nms` choose indices and have no gradient (on a
device they suppress on a host copy and return the indices on the device);
`roi_align` and `roi_pool` are `autograd_cv.ops.sampling`'s. Boxes are (x1, y1, x2, y2)
unless a format says otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.backend import device_of, to_device, to_host
from autograd_cv.ops.arguments import as_plain, as_tensor
from autograd_cv.ops.arguments import data_of as raw
from autograd_cv.ops.elementwise import clip, maximum, minimum
from autograd_cv.ops.sampling import roi_align, roi_pool
from autograd_cv.ops.shape import stack
from autograd_cv.tensor import Tensor

__all__ = [
    "batched_nms", "box_area", "box_convert", "box_iou", "clip_boxes_to_image", "nms",
    "remove_small_boxes", "roi_align", "roi_pool",
]  # fmt: skip

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _boxes(value: Any, op: str, name: str = "boxes") -> Tensor:
    boxes = as_tensor(value)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{op}: {name} must have shape (N, 4), got {boxes.shape}")
    return boxes


def box_area(boxes: Any) -> Tensor:
    """(x2 - x1) * (y2 - y1) for (N, 4) boxes."""
    boxes = _boxes(boxes, "box_area")
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: Any, boxes2: Any) -> Tensor:
    """(N, M) intersection over union of two sets of (x1, y1, x2, y2) boxes."""
    boxes1, boxes2 = _boxes(boxes1, "box_iou", "boxes1"), _boxes(boxes2, "box_iou", "boxes2")
    top_left = maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    size = clip(bottom_right - top_left, 0, None)
    inter = size[:, :, 0] * size[:, :, 1]
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter
    return inter / union


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert (N, 4) boxes between "xyxy", "xywh" (corner, size) and "cxcywh" (centre, size)."""
    for fmt in (in_fmt, out_fmt):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"box_convert: format must be one of {BOX_FORMATS}, got {fmt!r}")
    boxes = _boxes(boxes, "box_convert")
    a, b, c, d = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) * 0.5, (b + d) * 0.5, c - a, d - b
    return stack([a, b, c, d], axis=1)


def clip_boxes_to_image(boxes: Any, size: tuple[int, int]) -> Tensor:
    """Clip (N, 4) boxes to an image of size (height, width)."""
    boxes = _boxes(boxes, "clip_boxes_to_image")
    height, width = size
    xs = clip(boxes[:, 0::2], 0, width)
    ys = clip(boxes[:, 1::2], 0, height)
    return stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1)


def remove_small_boxes(boxes: Any, min_size: float) -> np.ndarray:
    """Indices of the boxes whose width and height are both at least `min_size`."""
    values = raw(_boxes(boxes, "remove_small_boxes"))
    keep = (values[:, 2] - values[:, 0] >= min_size) & (values[:, 3] - values[:, 1] >= min_size)
    return np.flatnonzero(keep)


def _iou_matrix(boxes: np.ndarray) -> np.ndarray:
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area[:, None] + area[None, :] - inter)


def _nms_on_host(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, op: str
) -> np.ndarray:
    """Greedy NMS on host arrays: indices of the kept boxes, by decreasing score."""
    if scores.shape != (len(boxes),):
        raise ValueError(f"{op}: scores must have shape ({len(boxes)},), got {scores.shape}")
    order = np.argsort(-scores, kind="stable")
    overlaps = _iou_matrix(boxes[order].astype(np.float64))
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):  # a loop over kept boxes; each step is one vector compare
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i] > iou_threshold
    return order[np.asarray(keep, dtype=np.int64)]


def nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """Greedy non-maximum suppression: indices of the kept boxes, by decreasing score.

    A box is dropped when its IoU with a kept, higher-scoring box exceeds `iou_threshold`.
    The greedy loop is sequential, so boxes on a device are suppressed on a host copy; the
    indices come back as an int64 array on the boxes' device."""
    values = raw(_boxes(boxes, "nms"))
    keep = _nms_on_host(to_host(values), to_host(as_plain(raw(scores))), iou_threshold, "nms")
    return to_device(keep, device_of(values))


def batched_nms(boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> Any:
    """NMS within each category of `idxs`: boxes of different categories never suppress
    each other. Indices of the kept boxes, by decreasing score, on the boxes' device (the
    suppression itself runs on a host copy, as `nms`)."""
    on_device = raw(_boxes(boxes, "batched_nms"))
    values = to_host(on_device).astype(np.float64)
    categories = to_host(as_plain(raw(idxs)))
    if categories.shape != (len(values),):
        raise ValueError(
            f"batched_nms: idxs must have shape ({len(values)},), got {categories.shape}"
        )
    if not len(values):
        return to_device(np.zeros(0, dtype=np.int64), device_of(on_device))
    # Shift each category's boxes apart so that boxes of two categories never overlap.
    offset = categories.astype(np.float64) * (values.max() - values.min() + 1)
    scores = to_host(as_plain(raw(scores)))
    keep = _nms_on_host(values + offset[:, None], scores, iou_threshold, "batched_nms")
    return to_device(keep, device_of(on_device))
