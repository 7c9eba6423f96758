"""Registry rows for the ops and arguments of issue 14: activations, math, pad modes,
pooling with ceil_mode / divisor_override, label smoothing, pos_weight, padding="same".

References are independent float64 NumPy forwards: formulas, loops, or np.pad.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.ops import activation, conv, einsum, elementwise, loss, pool, reduce, shape
from autograd_cv.ops import math as math_ops
from autograd_cv.testing import strategies as S
from autograd_cv.testing.registry.spec import OpSpec, register, unary

_erf = np.vectorize(math.erf, otypes=[float])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----- pooling with ceil_mode / divisor_override -------------------------------------------
def _ceil_pool_reference(x, kernel, stride, padding, reduce, count_include_pad=True, divisor=None):
    """Pool by a loop over PyTorch's ceil-mode windows, each clipped to the padded input."""
    n, c, h, w = x.shape
    sizes = []
    for size, k, s, p in zip((h, w), kernel, stride, padding):
        out = math.ceil((size + 2 * p - k) / s) + 1
        if (out - 1) * s >= size + p:
            out -= 1
        sizes.append(out)
    result = np.zeros((n, c, *sizes))
    for i, j in np.ndindex(*sizes):
        r0, c0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
        r1, c1 = min(r0 + kernel[0], h + padding[0]), min(c0 + kernel[1], w + padding[1])
        window = x[:, :, max(r0, 0) : min(r1, h), max(c0, 0) : min(c1, w)]
        if reduce == "max":
            result[:, :, i, j] = window.max(axis=(2, 3))
            continue
        if divisor is not None:
            count = divisor
        elif count_include_pad:
            count = (r1 - r0) * (c1 - c0)
        else:
            count = window.shape[2] * window.shape[3]
        result[:, :, i, j] = window.sum(axis=(2, 3)) / count
    return result


@st.composite
def _ceil_pool_args(draw, distinct: bool):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = [draw(st.integers(max(1, k - 2 * p), 7)) for k, p in zip(kernel, padding)]
    values = S.arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes))
    x = draw(S.distinct(values) if distinct else values)
    return x, kernel, stride, padding


@st.composite
def _avg_ceil_args(draw):
    x, kernel, stride, padding = draw(_ceil_pool_args(False))
    divisor = draw(st.sampled_from([None, None, 3]))
    return x, kernel, stride, padding, draw(st.booleans()), divisor


# ----- pad modes ---------------------------------------------------------------------------
_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@st.composite
def _pad_mode_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1, max_side=4)))
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    widths = []
    for n in x.shape:
        low = -((n - 1) // 2) if mode != "constant" else -(n // 2)
        high = n - 1 if mode == "reflect" else (n if mode == "circular" else 3)
        before, after = draw(st.integers(low, high)), draw(st.integers(low, high))
        kept = n + min(before, 0) + min(after, 0)
        if mode == "reflect":
            before, after = min(before, kept - 1), min(after, kept - 1)
        if mode == "circular":
            before, after = min(before, kept), min(after, kept)
        widths.append((before, after))
    assume(any(w != (0, 0) for w in widths))
    return x, tuple(widths), mode


@st.composite
def _pad_crop_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1, max_side=4)))
    widths = tuple(
        (draw(st.integers(-(n // 2), 2)), draw(st.integers(-(n // 2), 2))) for n in x.shape
    )
    return x, widths


def _pad_reference(x, widths, mode):
    """Crop negative widths, then np.pad the rest (PyTorch's order)."""
    crop = tuple(slice(-min(a, 0), n + min(b, 0)) for (a, b), n in zip(widths, x.shape))
    rest = [(max(a, 0), max(b, 0)) for a, b in widths]
    if mode == "constant":
        return np.pad(x[crop], rest, constant_values=0.25)
    return np.pad(x[crop], rest, mode=_MODES[mode])


# ----- losses and conv ---------------------------------------------------------------------
@st.composite
def _smoothing_args(draw):
    n, classes = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    extra = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    x = draw(S.arrays((n, classes, *extra), low=-3, high=3))
    target = draw(S.arrays((n, *extra), dtype=np.int64, low=0, high=classes - 1))
    ignored = draw(S.boolean_masks(target.shape))
    ignored.flat[0] = False
    target = np.where(ignored, -1, target)
    weight = draw(st.sampled_from([None, "w"]))
    weight = None if weight is None else draw(S.arrays((classes,), low=0.5, high=2.0))
    return x, target, weight, draw(st.sampled_from(["mean", "sum", "none"])), 0.3


def _smoothing_reference(x, target, weight, reduction, eps):
    n, classes = x.shape[:2]
    w = np.ones(classes) if weight is None else weight
    losses, counts = np.zeros(target.shape), np.zeros(target.shape)
    for index in np.ndindex(*target.shape):
        label = target[index]
        if label == -1:
            continue
        column = x[(index[0], slice(None), *index[1:])]
        logp = column - np.log(np.exp(column).sum())
        losses[index] = -(1 - eps) * w[label] * logp[label] - eps * (w * logp).sum() / classes
        counts[index] = w[label]
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / counts.sum()


@st.composite
def _pos_weight_args(draw):
    shape = draw(S.shapes(min_dims=1))
    x = draw(S.arrays(shape, low=-4, high=4))
    t = draw(S.arrays(shape, low=0, high=1))
    return x, t, draw(S.arrays((shape[-1],), low=0.5, high=3.0))


def _pos_weight_reference(x, t, pos_weight):
    log_p, log_not_p = np.log(_sigmoid(x)), np.log(1 - _sigmoid(x))
    return np.mean(-(pos_weight * t * log_p + (1 - t) * log_not_p))


@st.composite
def _same_conv_args(draw):
    channels, out_channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    sizes = [d * (k - 1) + draw(st.integers(1, 3)) for k, d in zip(kernel, dilation)]
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    x = draw(S.arrays((*batch, channels, *sizes)))
    return x, draw(S.arrays((out_channels, channels, *kernel))), dilation


def _same_conv_reference(x, w, dilation):
    """Output position (i, j) sums x[i + d a - left] w[a]: left = total // 2 of d (k - 1)."""
    batched = x if x.ndim == 4 else x[None]
    n, c, h, width = batched.shape
    out = np.zeros((n, w.shape[0], h, width))
    left = [d * (k - 1) // 2 for d, k in zip(dilation, w.shape[2:])]
    for i, j, a, b in np.ndindex(h, width, *w.shape[2:]):
        r, s = i + dilation[0] * a - left[0], j + dilation[1] * b - left[1]
        if 0 <= r < h and 0 <= s < width:
            out[:, :, i, j] += batched[:, :, r, s] @ w[:, :, a, b].T
    return out if x.ndim == 4 else out[0]


# ----- shape, indexing, reductions, sort, einsum -----------------------------------------
@st.composite
def _axis_args(draw, min_dims: int = 1):
    x = draw(S.arrays(S.shapes(min_dims=min_dims)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@st.composite
def _roll_args(draw):
    x, axis = draw(_axis_args())
    return x, draw(st.integers(-5, 5)), axis


@st.composite
def _tile_args(draw):
    x = draw(S.arrays(S.shapes(max_side=3)))
    reps = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3))))
    return x, reps


@st.composite
def _triangle_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=2)))
    return x, draw(st.integers(-2, 2))


@st.composite
def _gather_args(draw):
    x, axis = draw(_axis_args())
    n = x.shape[axis]
    shape_ = tuple(draw(st.integers(1, m)) if a != axis % x.ndim else draw(st.integers(1, 4))
                   for a, m in enumerate(x.shape))  # fmt: skip
    index = draw(S.arrays(shape_, dtype=np.int64, low=0, high=n - 1))
    return x, axis, index


def _gather_reference(x, axis, index):
    out = np.empty(index.shape)
    axis %= x.ndim
    for position in np.ndindex(*index.shape):
        source = list(position)
        source[axis] = index[position]
        out[position] = x[tuple(source)]
    return out


@st.composite
def _take_args(draw):
    """indices broadcasting with x off the axis (each size 1 or x's)."""
    x, axis = draw(_axis_args())
    axis %= x.ndim
    shape_ = tuple(draw(st.integers(1, 4)) if a == axis else draw(st.sampled_from([1, m]))
                   for a, m in enumerate(x.shape))  # fmt: skip
    return x, axis, draw(S.arrays(shape_, dtype=np.int64, low=0, high=x.shape[axis] - 1))


def _split_chunk(x, axis):
    """Each of 3 chunks (and of a split at 1) scaled by its number, joined back."""
    chunks = ag.concatenate([c * (i + 1) for i, c in enumerate(ag.chunk(x, 3, axis))], axis)
    head, tail = ag.split(x, [1], axis)
    return chunks + ag.concatenate([head * 5, tail], axis)


def _split_chunk_reference(x, axis):
    n = x.shape[axis]
    shape_ = [1] * x.ndim
    shape_[axis] = n
    chunk_number = 1 + np.arange(n) // -(-n // 3)
    head = np.where(np.arange(n) < 1, 5.0, 1.0)
    return x * chunk_number.reshape(shape_) + x * head.reshape(shape_)


@st.composite
def _scatter_args(draw):
    x, axis, index = draw(_gather_args())
    src = draw(S.arrays(index.shape))
    return x, src, axis, index


def _scatter_reference(x, src, axis, index):
    out = x.copy()
    axis %= x.ndim
    for position in np.ndindex(*index.shape):
        target = list(position)
        target[axis] = index[position]
        out[tuple(target)] += src[position]
    return out


@st.composite
def _index_add_args(draw):
    x, axis = draw(_axis_args())
    axis %= x.ndim
    index = draw(S.arrays((draw(st.integers(1, 4)),), dtype=np.int64, low=0,
                          high=x.shape[axis] - 1))  # fmt: skip
    source_shape = x.shape[:axis] + (len(index),) + x.shape[axis + 1 :]
    return x, draw(S.arrays(source_shape)), axis, index


def _index_add_reference(x, source, axis, index):
    out = x.copy()
    for i, target in enumerate(index):
        where = (slice(None),) * axis
        out[where + (target,)] += 2.0 * source[where + (i,)]
    return out


@st.composite
def _cumprod_args(draw):
    # Away from 0 (products of tiny values underflow), except for exact zeros.
    x = draw(S.away_from(S.arrays(S.shapes(min_dims=1)), (0.0,), margin=0.1))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    if draw(st.booleans()):  # exact zeros, where the division formula breaks down
        x = np.where(draw(S.boolean_masks(x.shape)), 0.0, x)
    return x, axis


def _spread(args):
    """Values spread out, so no line has a tiny variance (std's slope is 1 / std)."""
    x, axis = args
    return x + np.linspace(0.0, 1.0, x.size).reshape(x.shape), axis


@st.composite
def _sort_args(draw):
    x, axis = draw(_axis_args())
    return draw(S.distinct(st.just(x))), axis, draw(st.booleans())


@st.composite
def _topk_args(draw):
    x, axis, largest = draw(_sort_args())
    return x, axis, largest, draw(st.integers(0, x.shape[axis]))


_EINSUM = ["ij,jk->ik", "bij,bjk->bik", "ij->", "ij->ji", "i,j->ij", "ij,j->i", "...j,j->...",
           "bij,k->bik", "ij,ij->i"]  # fmt: skip


@st.composite
def _einsum_args(draw):
    equation = draw(st.sampled_from(_EINSUM))
    sizes = {c: draw(st.integers(1, 3)) for c in "bijk"}
    inputs = equation.split("->")[0].split(",")
    operands = []
    for s in inputs:
        if s.startswith("..."):
            shape_ = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
            shape_ += tuple(sizes[c] for c in s[3:])
        else:
            shape_ = tuple(sizes[c] for c in s)
        operands.append(draw(S.arrays(shape_)))
    while len(operands) < 2:
        operands.append(np.zeros(1))
    return operands[0], operands[1], equation


def _einsum_call(a, b, equation):
    count = len(equation.split("->")[0].split(","))
    return ag.einsum(equation, a, b) if count == 2 else ag.einsum(equation, a)


def _einsum_reference(a, b, equation):
    count = len(equation.split("->")[0].split(","))
    return np.einsum(equation, a, b) if count == 2 else np.einsum(equation, a)


@st.composite
def _embedding_args(draw):
    weight = draw(S.arrays((draw(st.integers(2, 5)), draw(st.integers(1, 3)))))
    index = draw(S.arrays(S.shapes(max_dims=2), dtype=np.int64, low=0, high=weight.shape[0] - 1))
    return weight, index, None  # padding_idx has its own test (its rows get no gradient)


def _embedding_reference(weight, index, padding_idx):
    return weight[index]


# ----- normalisation, distances, conv1d, 1-d pools, unpooling, pixel shuffle --------------
def _standardised(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)


@st.composite
def _layer_norm_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    k = draw(st.integers(1, x.ndim))
    x = x + np.linspace(-1, 1, x.size).reshape(x.shape)  # no tiny variances
    shape_ = x.shape[x.ndim - k :]
    return x, draw(S.arrays(shape_, low=0.5, high=2)), draw(S.arrays(shape_))


def _layer_norm_reference(x, w, b):
    axes = tuple(range(x.ndim - w.ndim, x.ndim))
    return _standardised(x, axes) * w + b


@st.composite
def _group_norm_args(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    shape_ = (draw(st.integers(1, 2)), channels, *draw(S.shapes(1, 2, max_side=3)))
    x = draw(S.arrays(shape_)) + np.linspace(-1, 1, int(np.prod(shape_))).reshape(shape_)
    return x, draw(S.arrays((channels,), low=0.5, high=2)), draw(S.arrays((channels,))), groups


def _group_norm_reference(x, w, b, groups):
    n, c = x.shape[:2]
    out = np.empty_like(x)
    per = c // groups
    for i, g in np.ndindex(n, groups):
        block = x[i, g * per : (g + 1) * per]
        out[i, g * per : (g + 1) * per] = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
    shape_ = (1, c) + (1,) * (x.ndim - 2)
    return out * w.reshape(shape_) + b.reshape(shape_)


@st.composite
def _instance_norm_args(draw):
    channels = draw(st.integers(1, 3))
    spatial = draw(st.sampled_from([(3,), (2, 2), (1, 3)]))
    shape_ = (draw(st.integers(1, 2)), channels, *spatial)
    x = draw(S.arrays(shape_)) + np.linspace(-1, 1, int(np.prod(shape_))).reshape(shape_)
    return x, draw(S.arrays((channels,), low=0.5, high=2)), draw(S.arrays((channels,)))


def _instance_norm_reference(x, w, b):
    shape_ = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return _standardised(x, tuple(range(2, x.ndim))) * w.reshape(shape_) + b.reshape(shape_)


@st.composite
def _vector_pair_args(draw):
    shape_ = draw(S.shapes(min_dims=1))
    a = draw(S.away_from(S.arrays(shape_), (0.0,), margin=0.1))
    b = draw(S.away_from(S.arrays(shape_), (0.0,), margin=0.1))
    return a, b, draw(st.integers(-len(shape_), len(shape_) - 1))


@st.composite
def _distance_args(draw):
    """b = a + d with d away from 0, so no distance is near its kink at 0."""
    a, d, axis = draw(_vector_pair_args())
    return a, a + d, axis


def _cosine_reference(a, b, axis):
    dot = (a * b).sum(axis=axis)
    return dot / (np.sqrt((a * a).sum(axis=axis)) * np.sqrt((b * b).sum(axis=axis)))


def _normalize_reference(a, b, axis):
    return a / np.sqrt((a * a).sum(axis=axis, keepdims=True)) + b / (
        (np.abs(b) ** 3).sum(axis=axis, keepdims=True) ** (1 / 3)
    )


@st.composite
def _conv1d_args(draw):
    groups = draw(st.integers(1, 2))
    channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    length = max(1, dilation * (k - 1) + 1 - 2 * padding) + draw(st.integers(0, 3))
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    x = draw(S.arrays((*batch, channels, length)))
    w = draw(S.arrays((out_channels, channels // groups, k)))
    return x, w, draw(S.arrays((out_channels,))), (stride, padding, dilation, groups)


def _conv1d_reference(x, w, b, args):
    stride, padding, dilation, groups = args
    batched = x if x.ndim == 3 else x[None]
    n, c, length = batched.shape
    out_channels, per_group, k = w.shape
    padded = np.zeros((n, c, length + 2 * padding))
    padded[:, :, padding : padding + length] = batched
    out_length = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, out_channels, out_length))
    per_out = out_channels // groups
    for o, i in np.ndindex(out_channels, out_length):
        g = o // per_out
        window = padded[:, g * per_group : (g + 1) * per_group,
                        i * stride : i * stride + dilation * (k - 1) + 1 : dilation]  # fmt: skip
        out[:, o, i] = (window * w[o]).sum(axis=(1, 2)) + b[o]
    return out if x.ndim == 3 else out[0]


@st.composite
def _pool1d_args(draw, distinct: bool):
    k, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.integers(0, k // 2))
    length = draw(st.integers(max(1, k - 2 * padding), 7))
    values = S.arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), length))
    x = draw(S.distinct(values) if distinct else values)
    return x, k, stride, padding, draw(st.booleans())


def _pool1d_reference(x, k, stride, padding, ceil_mode, reduce):
    out = _ceil_pool_reference(x[:, :, None], (1, k), (1, stride), (0, padding), reduce) \
        if ceil_mode else None  # fmt: skip
    if out is None:
        length = x.shape[2]
        size = (length + 2 * padding - k) // stride + 1
        fill = -np.inf if reduce == "max" else 0.0
        padded = np.full(x.shape[:2] + (length + 2 * padding,), fill)
        padded[:, :, padding : padding + length] = x
        out = np.stack([padded[:, :, i * stride : i * stride + k] for i in range(size)], axis=2)
        return out.max(axis=3) if reduce == "max" else out.mean(axis=3)
    return out[:, :, 0]


@st.composite
def _unpool_args(draw):
    # stride >= kernel: with overlapping windows one maximum can be written twice but is
    # kept once (as in PyTorch), and the composite is not the function its gradient assumes
    kernel = draw(st.integers(1, 3))
    stride = kernel + draw(st.integers(0, 1))
    shape_ = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
              draw(st.integers(kernel, 6)), draw(st.integers(kernel, 6)))  # fmt: skip
    x = draw(S.distinct(S.arrays(shape_)))
    return x, kernel, stride


def _unpool(x, kernel, stride):
    pooled, indices = F.max_pool2d(x, kernel, stride, return_indices=True)
    return F.max_unpool2d(pooled * 2.0, indices, kernel, stride, output_size=x.shape[2:])


def _unpool_reference(x, kernel, stride):
    """2 * x at each window's maximum, 0 elsewhere (a loop over the windows)."""
    out = np.zeros_like(x)
    n, c, h, w = x.shape
    for i, j in np.ndindex((h - kernel) // stride + 1, (w - kernel) // stride + 1):
        window = x[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
        for a, b in np.ndindex(n, c):
            r, s = np.unravel_index(np.argmax(window[a, b]), window.shape[2:])
            out[a, b, i * stride + r, j * stride + s] = 2 * window[a, b, r, s]
    return out


@st.composite
def _pixel_shuffle_args(draw):
    r = draw(st.integers(1, 3))
    shape_ = (draw(st.integers(1, 2)), draw(st.integers(1, 2)) * r * r,
              draw(st.integers(1, 3)), draw(st.integers(1, 3)))  # fmt: skip
    return draw(S.arrays(shape_)), r


def _pixel_shuffle_reference(x, r):
    n, c, h, w = x.shape
    out = np.empty((n, c // (r * r), h * r, w * r))
    for channel, i, j in np.ndindex(c, h, w):
        out[:, channel // (r * r), i * r + (channel % (r * r)) // r, j * r + channel % r] = \
            x[:, channel, i, j]  # fmt: skip
    return out


register(
    OpSpec(
        "max_pool2d-ceil_mode",
        lambda x, k, s, p: F.max_pool2d(x, k, s, p, ceil_mode=True),
        lambda: _ceil_pool_args(True), (pool.MaxPool2d, pool.MaxPool2dBackward),
        reference=lambda x, k, s, p: _ceil_pool_reference(x, k, s, p, "max"), examples=0.5,
    ),
    OpSpec(
        "avg_pool2d-ceil_mode-divisor_override",
        lambda x, k, s, p, count, divisor: F.avg_pool2d(
            x, k, s, p, ceil_mode=True, count_include_pad=count, divisor_override=divisor
        ),
        _avg_ceil_args, (pool.AvgPool2d, pool.AvgPool2dBackward),
        reference=lambda x, k, s, p, count, divisor: _ceil_pool_reference(
            x, k, s, p, "mean", count, divisor
        ),
        examples=0.5,
    ),
    OpSpec(
        "pad-modes", lambda x, w, mode: ag.pad(x, w, value=0.25, mode=mode), _pad_mode_args,
        (shape.GetItem, shape.IndexAdd), reference=_pad_reference,
    ),
    OpSpec(
        "pad-constant-crop", lambda x, w: ag.pad(x, w, value=0.25), _pad_crop_args, (shape.Pad,),
        reference=lambda x, w: _pad_reference(x, w, "constant"),
    ),
    OpSpec(
        "cross_entropy-label_smoothing",
        lambda x, t, w, r, eps: F.cross_entropy(
            x, t, weight=w, ignore_index=-1, reduction=r, label_smoothing=eps
        ),
        _smoothing_args, (loss.NLLLoss, activation.LogSoftmax), reference=_smoothing_reference,
    ),
    OpSpec(
        "binary_cross_entropy_with_logits-pos_weight",
        lambda x, t, pw: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
        _pos_weight_args, (loss.BCEWithLogits, activation.Softplus), wrt=(0, 1),
        reference=_pos_weight_reference,
    ),
    OpSpec(
        "conv2d-padding-same", lambda x, w, d: F.conv2d(x, w, padding="same", dilation=d),
        _same_conv_args, (conv.Conv2d,), wrt=(0, 1), reference=_same_conv_reference,
        examples=0.5,
    ),
    # ----- activations ---------------------------------------------------------------------
    OpSpec(
        "gelu", F.gelu, unary(-3, 3), (activation.GELU, math_ops.Erf, elementwise.Exp),
        reference=lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    ),
    OpSpec(
        "gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), unary(-3, 3),
        (activation.GELU, activation.Tanh),
        reference=lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    OpSpec(
        "silu", F.silu, unary(-4, 4), (activation.SiLU, activation.Sigmoid),
        reference=lambda x: x * _sigmoid(x),
    ),
    OpSpec(
        "elu", lambda x: F.elu(x, 0.7), unary(kinks=(0.0,)), (activation.ELU, elementwise.Where),
        reference=lambda x: np.where(x > 0, x, 0.7 * (np.exp(np.minimum(x, 0)) - 1)),
    ),
    OpSpec(
        "softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), unary(-3, 3, kinks=(1.5,)),
        (activation.Softplus, activation.Sigmoid),
        reference=lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2),
    ),
    OpSpec(
        "logsigmoid", F.logsigmoid, unary(-6, 6), (activation.LogSigmoid, activation.Sigmoid),
        reference=lambda x: np.log(_sigmoid(x)),
    ),
    OpSpec(
        "hardtanh-relu6", lambda x: F.hardtanh(x, -0.5, 0.8) + F.relu6(x * 4),
        unary(kinks=(-0.5, 0.8, 0.0, 1.5)), (activation.Hardtanh,),
        reference=lambda x: np.clip(x, -0.5, 0.8) + np.clip(4 * x, 0, 6),
    ),
    # ----- math ----------------------------------------------------------------------------
    OpSpec(
        "sin-cos", lambda x: ag.sin(x) * 2 + ag.cos(x), unary(-4, 4), (math_ops.Sin, math_ops.Cos),
        reference=lambda x: 2 * np.sin(x) + np.cos(x),
    ),
    OpSpec("log2", ag.log2, unary(0.2, 3.0), (math_ops.Log2,), reference=np.log2),
    OpSpec(
        "sign", lambda x: ag.sign(x) * x, unary(kinks=(0.0,)), (math_ops.Sign,),
        reference=lambda x: np.sign(x) * x,
    ),
    OpSpec("erf", ag.erf, unary(-3, 3), (math_ops.Erf,), reference=_erf),
    # ----- shape, indexing, reductions, sort, einsum ------------------------------------------
    OpSpec("flip", ag.flip, _axis_args, (shape.Flip,), reference=np.flip),
    OpSpec("roll", ag.roll, _roll_args, (shape.Roll,), reference=np.roll),
    OpSpec("tile", ag.tile, _tile_args, (shape.Tile,), reference=np.tile),
    OpSpec(
        "split-chunk", _split_chunk, _axis_args, (shape.GetItem, shape.Concatenate),
        reference=_split_chunk_reference,
    ),
    OpSpec(
        "tril-triu", lambda x, k: ag.tril(x, k) + ag.triu(x, k) * 2, _triangle_args,
        (shape.Triangle,), reference=lambda x, k: np.tril(x, k) + 2 * np.triu(x, k),
    ),
    OpSpec(
        "gather", lambda x, axis, index: ag.gather(x, axis, index), _gather_args,
        (shape.GetItem, shape.IndexAdd), reference=_gather_reference,
    ),
    OpSpec(
        "take_along_axis", lambda x, axis, index: ag.take_along_axis(x, index, axis),
        _take_args, (shape.GetItem, shape.IndexAdd),
        reference=lambda x, axis, index: np.take_along_axis(x, index, axis),
    ),
    OpSpec(
        "scatter_add", lambda x, src, axis, index: ag.scatter_add(x, axis, index, src),
        _scatter_args, (shape.IndexAdd, shape.GetItem), wrt=(0, 1), reference=_scatter_reference,
    ),
    OpSpec(
        "index_add", lambda x, source, axis, index: ag.index_add(x, axis, index, source, 2.0),
        _index_add_args, (shape.IndexAdd, shape.GetItem), wrt=(0, 1),
        reference=_index_add_reference,
    ),
    OpSpec(
        "cumsum", lambda x, axis: ag.cumsum(x, axis) + ag.cumsum(x).sum(), _axis_args,
        (reduce.Cumsum,), reference=lambda x, axis: np.cumsum(x, axis) + np.cumsum(x).sum(),
    ),
    OpSpec(
        "cumprod", ag.cumprod, _cumprod_args, (reduce.Cumprod, reduce.Cumsum),
        reference=np.cumprod,
    ),
    OpSpec(
        "prod", lambda x, axis, keep: ag.prod(x, axis, keep),
        lambda: _cumprod_args().map(lambda a: (a[0], a[1], True)), (reduce.Cumprod,),
        reference=lambda x, axis, keep: np.prod(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "std", lambda x, axis: ag.std(x, axis, ddof=1),
        lambda: _axis_args().filter(lambda a: a[0].shape[a[1]] > 1).map(_spread),
        (reduce.Mean, reduce.Sum, elementwise.Sqrt),
        reference=lambda x, axis: np.std(x, axis, ddof=1),
    ),
    OpSpec(
        "sort", lambda x, axis, d: ag.sort(x, axis, d), _sort_args,
        (shape.GetItem, shape.IndexAdd),
        reference=lambda x, axis, d: np.flip(np.sort(x, axis), axis) if d else np.sort(x, axis),
    ),
    OpSpec(
        "topk", lambda x, axis, largest, k: ag.topk(x, k, axis, largest)[0], _topk_args,
        (shape.GetItem, shape.IndexAdd),
        reference=lambda x, axis, largest, k: np.take(
            np.flip(np.sort(x, axis), axis) if largest else np.sort(x, axis), range(k), axis
        ),
    ),
    OpSpec(
        "einsum", _einsum_call, _einsum_args, (einsum.Einsum,), wrt=(0, 1),
        reference=_einsum_reference,
    ),
    OpSpec(
        "embedding", lambda w, i, p: F.embedding(i, w, padding_idx=p), _embedding_args,
        (shape.GetItem, shape.IndexAdd), reference=_embedding_reference,
    ),
    # ----- normalisation, distances, conv1d, 1-d pools, unpooling, pixel shuffle -------------
    OpSpec(
        "layer_norm", lambda x, w, b: F.layer_norm(x, w.shape, w, b), _layer_norm_args,
        (reduce.Mean,), wrt=(0, 1, 2), reference=_layer_norm_reference, atol=1e-4,
    ),
    OpSpec(
        "group_norm", lambda x, w, b, g: F.group_norm(x, g, w, b),
        _group_norm_args, (reduce.Mean,), wrt=(0, 1, 2), reference=_group_norm_reference,
        atol=1e-4,
    ),
    OpSpec(
        "instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        _instance_norm_args, (reduce.Mean,), wrt=(0, 1, 2), reference=_instance_norm_reference,
        atol=1e-4,
    ),
    OpSpec(
        "normalize", lambda a, b, axis: F.normalize(a, dim=axis) + F.normalize(b, p=3, dim=axis),
        _vector_pair_args, (elementwise.Maximum,), wrt=(0, 1), reference=_normalize_reference,
    ),
    OpSpec(
        "cosine_similarity", lambda a, b, axis: F.cosine_similarity(a, b, dim=axis),
        _vector_pair_args, (elementwise.PowerScalar, elementwise.Where), wrt=(0, 1),
        reference=_cosine_reference,
    ),
    OpSpec(
        "pairwise_distance", lambda a, b, axis: F.pairwise_distance(a, b),
        _distance_args, (elementwise.PowerScalar, elementwise.Where), wrt=(0, 1),
        reference=lambda a, b, axis: np.sqrt(((a - b + 1e-6) ** 2).sum(axis=-1)),
    ),
    OpSpec(
        "conv1d", lambda x, w, b, args: F.conv1d(x, w, b, *args[:3], groups=args[3]),
        _conv1d_args, (conv.Conv2d, conv.ConvTranspose2d, conv.Conv2dWeightGrad),
        wrt=(0, 1, 2), reference=_conv1d_reference, examples=0.5,
    ),
    OpSpec(
        "max_pool1d", lambda x, k, s, p, ceil: F.max_pool1d(x, k, s, p, ceil_mode=ceil),
        lambda: _pool1d_args(True), (pool.MaxPool2d,),
        reference=lambda x, k, s, p, ceil: _pool1d_reference(x, k, s, p, ceil, "max"),
        examples=0.5,
    ),
    OpSpec(
        "avg_pool1d", lambda x, k, s, p, ceil: F.avg_pool1d(x, k, s, p, ceil_mode=ceil),
        lambda: _pool1d_args(False), (pool.AvgPool2d,),
        reference=lambda x, k, s, p, ceil: _pool1d_reference(x, k, s, p, ceil, "mean"),
        examples=0.5,
    ),
    OpSpec(
        "max_unpool2d", _unpool, _unpool_args, (pool.MaxUnpool2d, pool.MaxPool2d),
        reference=_unpool_reference, examples=0.5,
    ),
    OpSpec(
        "pixel_unshuffle", lambda x, r: F.pixel_unshuffle(F.pixel_shuffle(x, r), r),
        _pixel_shuffle_args, (shape.Reshape, shape.Transpose), reference=lambda x, r: x,
    ),
    OpSpec(
        "pixel_shuffle-layout", F.pixel_shuffle, _pixel_shuffle_args,
        (shape.Reshape, shape.Transpose), reference=_pixel_shuffle_reference,
    ),
)  # fmt: skip
