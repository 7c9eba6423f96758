"""Registry rows for the ops of issue 19: embedding and regression losses, spatial
cross-entropy with ignore_index, interpolate, and the detection ops of `vision.ops`.

References are independent float64 loops that follow the documented formulas point by
point (PyTorch's source-coordinate rules for resizing, torchvision's for RoI ops).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from autograd_cv import functional as F
from autograd_cv.ops import activation, elementwise, linalg, loss, shape
from autograd_cv.tensor import Tensor
from autograd_cv.testing import strategies as S
from autograd_cv.testing.registry.spec import OpSpec, register
from autograd_cv.vision import ops as V

_reductions = st.sampled_from(["mean", "sum", "none"])


def _reduced(losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


# ----- losses -----------------------------------------------------------------------------
def _smooth_l1_reference(x, t, reduction, beta):
    out = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        d = abs(x[i] - t[i])
        out[i] = 0.5 * d * d / beta if d < beta else d - 0.5 * beta
    return _reduced(out, reduction)


def _huber_reference(x, t, reduction, delta):
    out = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        d = abs(x[i] - t[i])
        out[i] = 0.5 * d * d if d < delta else delta * (d - 0.5 * delta)
    return _reduced(out, reduction)


@st.composite
def _regression_args(draw):
    shape_ = draw(S.shapes(min_dims=1))
    x = draw(S.arrays(shape_, low=-3, high=3))
    t = draw(S.arrays(shape_, low=-3, high=3))
    scale = draw(st.sampled_from([0.5, 1.0, 1.5]))
    # Keep |x - t| off the kink at `scale` and off 0 (where |d| is not differentiable).
    d = x - t
    d = np.where(np.abs(np.abs(d) - scale) < 0.05, d + 0.1 * np.sign(d), d)
    d = np.where(np.abs(d) < 0.02, 0.05, d)
    return t + d, t, draw(_reductions), scale


def _ranking_reference(x1, x2, y, margin, reduction):
    out = np.array([max(0.0, -y[i] * (x1[i] - x2[i]) + margin) for i in range(len(x1))])
    return _reduced(out, reduction)


@st.composite
def _ranking_args(draw):
    n = draw(st.integers(1, 5))
    x1, x2 = draw(S.arrays((n,))), draw(S.arrays((n,)))
    y = np.asarray(draw(st.lists(st.sampled_from([1, -1]), min_size=n, max_size=n)))
    margin = draw(st.sampled_from([0.0, 0.5]))
    hinge = -y * (x1 - x2) + margin
    x1 = np.where(np.abs(hinge) < 0.05, x1 - 0.1 * y, x1)
    return x1, x2, y, margin, draw(_reductions)


def _norm(v, p):
    return sum(abs(e) ** p for e in v) ** (1.0 / p)


def _triplet_reference(a, p_, n, margin, p, swap, reduction):
    a, p_, n = (np.atleast_2d(v) for v in (a, p_, n))
    out = []
    for i in range(len(a)):
        d_ap = _norm(a[i] - p_[i] + 1e-6, p)
        d_an = _norm(a[i] - n[i] + 1e-6, p)
        if swap:
            d_an = min(d_an, _norm(p_[i] - n[i] + 1e-6, p))
        out.append(max(d_ap - d_an + margin, 0.0))
    return _reduced(np.asarray(out), reduction)


@st.composite
def _triplet_args(draw):
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    a, p_, neg = (draw(S.arrays((n, d))) for _ in range(3))
    margin, p = draw(st.sampled_from([0.5, 1.0])), draw(st.sampled_from([1, 2, 3]))
    swap = draw(st.booleans())
    # Stay away from the kinks: the hinge at 0, |.| at 0 (p = 1) and the swap's min.
    p_ = np.where(np.abs(a - p_ + 1e-6) < 0.05, p_ + 0.1, p_)
    neg = np.where(np.abs(a - neg + 1e-6) < 0.05, neg + 0.1, neg)
    neg = np.where(np.abs(p_ - neg + 1e-6) < 0.05, neg + 0.1, neg)
    margin_ok = []
    for i in range(n):
        d_ap, d_an = _norm(a[i] - p_[i] + 1e-6, p), _norm(a[i] - neg[i] + 1e-6, p)
        d_pn = _norm(p_[i] - neg[i] + 1e-6, p)
        margin_ok.append(abs(d_ap - min(d_an, d_pn if swap else d_an) + margin) > 0.05
                         and (not swap or abs(d_an - d_pn) > 0.05))  # fmt: skip
    from hypothesis import assume

    assume(all(margin_ok))
    return a, p_, neg, margin, p, swap, draw(_reductions)


def _cosine_reference(x1, x2, y, margin, reduction):
    out = []
    for i in range(len(x1)):
        cos = np.dot(x1[i], x2[i]) / math.sqrt(
            (np.dot(x1[i], x1[i]) + 1e-12) * (np.dot(x2[i], x2[i]) + 1e-12)
        )
        out.append(1 - cos if y[i] == 1 else max(0.0, cos - margin))
    return _reduced(np.asarray(out), reduction)


@st.composite
def _cosine_args(draw):
    n, d = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    x1 = draw(S.arrays((n, d))) + 0.5
    x2 = draw(S.arrays((n, d))) - 0.2
    y = np.asarray(draw(st.lists(st.sampled_from([1, -1]), min_size=n, max_size=n)))
    margin = draw(st.sampled_from([0.0, 0.3]))
    cos = (x1 * x2).sum(1) / np.sqrt((x1 * x1).sum(1) * (x2 * x2).sum(1))
    from hypothesis import assume

    assume(np.all(np.abs(cos - margin) > 0.05))
    return x1, x2, y, margin, draw(_reductions)


def _spatial_ce_reference(x, target, reduction):
    losses, count = np.zeros(target.shape), 0
    for n, h, w in np.ndindex(*target.shape):
        label = target[n, h, w]
        if label == 255:
            continue
        column = x[n, :, h, w]
        losses[n, h, w] = -(column[label] - np.log(np.exp(column).sum()))
        count += 1
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / count


@st.composite
def _spatial_ce_args(draw):
    n, classes = draw(st.integers(1, 2)), draw(st.integers(2, 4))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = draw(S.arrays((n, classes, h, w), low=-3, high=3))
    target = draw(S.arrays((n, h, w), dtype=np.int64, low=0, high=classes - 1))
    ignored = draw(S.boolean_masks(target.shape))
    ignored.flat[0] = False
    return x, np.where(ignored, 255, target), draw(_reductions)


# ----- interpolate ------------------------------------------------------------------------
def _interpolate_reference(x, size, mode, align_corners):
    n, c, h, w = x.shape
    oh, ow = size
    out = np.zeros((n, c, oh, ow))

    def source(i, out_size, in_size):
        if mode == "nearest":
            return min(int(math.floor(i * in_size / out_size)), in_size - 1)
        if align_corners:
            return i * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return max((i + 0.5) * in_size / out_size - 0.5, 0.0)

    for i, j in np.ndindex(oh, ow):
        y, xx = source(i, oh, h), source(j, ow, w)
        if mode == "nearest":
            out[:, :, i, j] = x[:, :, y, xx]
            continue
        y0, x0 = min(int(y), h - 1), min(int(xx), w - 1)
        y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
        ly, lx = y - y0, xx - x0
        out[:, :, i, j] = (
            (1 - ly) * (1 - lx) * x[:, :, y0, x0] + (1 - ly) * lx * x[:, :, y0, x1]
            + ly * (1 - lx) * x[:, :, y1, x0] + ly * lx * x[:, :, y1, x1]
        )  # fmt: skip
    return out


@st.composite
def _interpolate_args(draw):
    shape_ = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *draw(S.shapes(2, 2, max_side=5)))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    corners = draw(st.booleans()) if mode == "bilinear" else None
    return draw(S.arrays(shape_)), size, mode, corners


# ----- RoI ops ----------------------------------------------------------------------------
def _bilinear_read(plane, y, x):
    """torchvision's bilinear read of one (H, W) plane, zero outside [-1, size]."""
    height, width = plane.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * plane[y0, x0] + (1 - ly) * lx * plane[y0, x1]
            + ly * (1 - lx) * plane[y1, x0] + ly * lx * plane[y1, x1])  # fmt: skip


def _roi_align_reference(x, rois, output_size, scale, sampling_ratio, aligned):
    ph, pw = output_size
    out = np.zeros((len(rois), x.shape[1], ph, pw))
    offset = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - offset, y1 * scale - offset
        rw, rh = x2 * scale - offset - sx, y2 * scale - offset - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / ph)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pw)
        count = max(gh * gw, 1)
        for c, i, j in np.ndindex(x.shape[1], ph, pw):
            total = 0.0
            for iy, ix in np.ndindex(gh, gw):
                y = sy + i * bh + (iy + 0.5) * bh / gh
                xx = sx + j * bw + (ix + 0.5) * bw / gw
                total += _bilinear_read(x[int(b), c], y, xx)
            out[k, c, i, j] = total / count
    return out


def _round(value):
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _roi_pool_reference(x, rois, output_size, scale):
    ph, pw = output_size
    height, width = x.shape[2:]
    out = np.zeros((len(rois), x.shape[1], ph, pw))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = (_round(v * scale) for v in (x1, y1, x2, y2))
        bh, bw = max(eh - sh + 1, 1) / ph, max(ew - sw + 1, 1) / pw
        for i, j in np.ndindex(ph, pw):
            top = min(max(math.floor(i * bh) + sh, 0), height)
            bottom = min(max(math.ceil((i + 1) * bh) + sh, 0), height)
            left = min(max(math.floor(j * bw) + sw, 0), width)
            right = min(max(math.ceil((j + 1) * bw) + sw, 0), width)
            if bottom > top and right > left:
                out[k, :, i, j] = x[int(b), :, top:bottom, left:right].max(axis=(1, 2))
    return out


@st.composite
def _rois(draw, n, height, width):
    k = draw(st.integers(1, 3))
    rows = []
    for _ in range(k):
        x1 = draw(st.floats(-1.0, width - 0.5))
        y1 = draw(st.floats(-1.0, height - 0.5))
        x2, y2 = x1 + draw(st.floats(0.0, width)), y1 + draw(st.floats(0.0, height))
        rows.append([draw(st.integers(0, n - 1)), x1, y1, x2, y2])
    return np.asarray(rows, dtype=np.float64)


@st.composite
def _roi_align_args(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    scale = draw(st.sampled_from([1.0, 0.5]))
    rois = draw(_rois(n, h / scale, w / scale))
    output_size = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (draw(S.arrays((n, c, h, w))), rois, output_size, scale,
            draw(st.sampled_from([-1, 1, 2])), draw(st.booleans()))  # fmt: skip


@st.composite
def _roi_pool_args(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    scale = draw(st.sampled_from([1.0, 0.5]))
    rois = draw(_rois(n, h / scale, w / scale))
    output_size = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return draw(S.distinct(S.arrays((n, c, h, w)))), rois, output_size, scale


# ----- boxes ------------------------------------------------------------------------------
@st.composite
def _box_sets(draw, count_low=1):
    def boxes(k):
        corner = draw(S.arrays((k, 2), low=0, high=5))
        size = draw(S.arrays((k, 2), low=0.5, high=4))
        return np.concatenate([corner, corner + size], axis=1)

    return boxes(draw(st.integers(count_low, 4))), boxes(draw(st.integers(count_low, 4)))


def _box_iou_reference(a, b):
    out = np.zeros((len(a), len(b)))
    for i, j in np.ndindex(len(a), len(b)):
        w = max(0.0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
        h = max(0.0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
        area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
        out[i, j] = w * h / (area(a[i]) + area(b[j]) - w * h)
    return out


@st.composite
def _box_iou_args(draw):
    a, b = draw(_box_sets())
    # Keep every pair's overlap edges off their kinks (max/min ties, clip at 0).
    from hypothesis import assume

    for i, j in np.ndindex(len(a), len(b)):
        for low, high in ((0, 2), (1, 3)):
            assume(abs(a[i, low] - b[j, low]) > 0.02 and abs(a[i, high] - b[j, high]) > 0.02)
            assume(abs(min(a[i, high], b[j, high]) - max(a[i, low], b[j, low])) > 0.02)
    return a, b


def _box_convert_reference(boxes, in_fmt, out_fmt):
    out = []
    for a, b, c, d in boxes:
        if in_fmt == "xywh":
            c, d = a + c, b + d
        elif in_fmt == "cxcywh":
            a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
        if out_fmt == "xywh":
            c, d = c - a, d - b
        elif out_fmt == "cxcywh":
            a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
        out.append([a, b, c, d])
    return np.asarray(out).reshape(-1, 4)


@st.composite
def _box_convert_args(draw):
    boxes, _ = draw(_box_sets())
    formats = st.sampled_from(V.BOX_FORMATS)
    return boxes, draw(formats), draw(formats)


def _nms_reference(boxes, scores, threshold):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        if all(_box_iou_reference(boxes[[i]], boxes[[j]])[0, 0] <= threshold for j in keep):
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def _batched_nms_reference(boxes, scores, idxs, threshold):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        same = [j for j in keep if idxs[j] == idxs[i]]
        if all(_box_iou_reference(boxes[[i]], boxes[[j]])[0, 0] <= threshold for j in same):
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


@st.composite
def _nms_args(draw):
    boxes, _ = draw(_box_sets())
    scores = draw(S.distinct(S.arrays((len(boxes),), low=0, high=1)))
    idxs = draw(S.arrays((len(boxes),), dtype=np.int64, low=0, high=2))
    return boxes, scores, idxs, draw(st.sampled_from([0.1, 0.3, 0.5]))


register(
    OpSpec(
        "smooth_l1_loss", lambda x, t, r, b: F.smooth_l1_loss(x, t, reduction=r, beta=b),
        _regression_args, (elementwise.Where, elementwise.Abs), wrt=(0, 1),
        reference=_smooth_l1_reference,
    ),
    OpSpec(
        "huber_loss", lambda x, t, r, d: F.huber_loss(x, t, reduction=r, delta=d),
        _regression_args, (elementwise.Where, elementwise.Abs), wrt=(0, 1),
        reference=_huber_reference,
    ),
    OpSpec(
        "margin_ranking_loss",
        lambda a, b, y, m, r: F.margin_ranking_loss(a, b, y, margin=m, reduction=r),
        _ranking_args, (activation.ReLU,), wrt=(0, 1), reference=_ranking_reference,
    ),
    OpSpec(
        "triplet_margin_loss",
        lambda a, p_, n, m, p, s, r: F.triplet_margin_loss(a, p_, n, m, p, swap=s, reduction=r),
        _triplet_args, (activation.ReLU,), wrt=(0, 1, 2), reference=_triplet_reference,
    ),
    OpSpec(
        "cosine_embedding_loss",
        lambda a, b, y, m, r: F.cosine_embedding_loss(a, b, y, margin=m, reduction=r),
        _cosine_args, (activation.ReLU, elementwise.Where), wrt=(0, 1),
        reference=_cosine_reference,
    ),
    OpSpec(
        "cross_entropy-nchw-ignore_index",
        lambda x, t, r: F.cross_entropy(x, t, ignore_index=255, reduction=r),
        _spatial_ce_args, (loss.CrossEntropy, activation.Softmax), reference=_spatial_ce_reference,
    ),
    OpSpec(
        "interpolate", lambda x, s, m, a: F.interpolate(x, size=s, mode=m, align_corners=a),
        _interpolate_args, (linalg.MatMul,), reference=_interpolate_reference,
    ),
    OpSpec(
        "roi_align",
        lambda x, r, o, s, sr, a: V.roi_align(x, r, o, s, sampling_ratio=sr, aligned=a),
        _roi_align_args, (linalg.MatMul,), reference=_roi_align_reference,
        examples=0.5,
    ),
    OpSpec(
        "roi_pool", V.roi_pool, _roi_pool_args, (shape.GetItem, shape.IndexAdd),
        reference=_roi_pool_reference, examples=0.5,
    ),
    OpSpec(
        "box_iou", V.box_iou, _box_iou_args, (elementwise.Maximum, elementwise.Clip),
        wrt=(0, 1), reference=_box_iou_reference, examples=0.5,
    ),
    OpSpec(
        "box_convert", V.box_convert, _box_convert_args, (shape.Stack,),
        reference=_box_convert_reference,
    ),
    OpSpec(
        "nms", lambda b, s, i, t: Tensor(V.nms(b, s, t)), _nms_args, (), wrt=(),
        differentiable=False,
        reference=lambda b, s, i, t: _nms_reference(b, s, t), float32=False,
    ),
    OpSpec(
        "batched_nms", lambda b, s, i, t: Tensor(V.batched_nms(b, s, i, t)), _nms_args, (),
        wrt=(), differentiable=False,
        reference=_batched_nms_reference, float32=False,
    ),
)  # fmt: skip
