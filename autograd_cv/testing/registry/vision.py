"""Registry rows for the neural-network ops of `autograd_cv.functional`.

References here are independent float64 NumPy forwards (naive loops for the window ops),
so a row checks the forward's values as well as its gradients.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from autograd_cv import functional as F
from autograd_cv.ops import activation, conv, linear, loss, norm, pool
from autograd_cv.ops import elementwise as ew
from autograd_cv.testing import strategies as S
from autograd_cv.testing.registry.spec import OpSpec, register, unary

# ----- references -------------------------------------------------------------------------


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_loop(x: np.ndarray) -> np.ndarray:
    """log softmax over axis 1, one position at a time."""
    out = np.empty_like(x)
    for index in np.ndindex(x.shape[0], *x.shape[2:]):
        where = (index[0], slice(None), *index[1:])
        column = x[where]
        out[where] = column - np.log(np.sum(np.exp(column)))
    return out


def _nll_reference(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    losses = np.zeros(target.shape)
    weights = np.zeros(target.shape)
    for index in np.ndindex(*target.shape):
        label = target[index]
        if label == ignore_index:
            continue
        w = 1.0 if weight is None else weight[label]
        losses[index] = -w * log_probs[(index[0], label, *index[1:])]
        weights[index] = w
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / weights.sum()


def _multi_margin_reference(x, target, p, margin, reduction):
    n, classes = x.shape
    losses = np.zeros(n)
    for i in range(n):
        y = target[i]
        for j in range(classes):
            if j != y:
                losses[i] += max(0.0, margin - x[i, y] + x[i, j]) ** p
    losses /= classes
    return _reduced(losses, reduction)


def _reduced(losses: np.ndarray, reduction: str):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _lrn_reference(x, size, alpha, beta, k):
    out = np.empty_like(x)
    channels = x.shape[1]
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        window = (x[:, low:high] ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (k + alpha / size * window) ** beta
    return out


def _batch_norm_reference(x, weight, bias, eps=1e-5):
    axes = (0, *range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)


def _conv2d_reference(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation by a loop over output positions (and groups)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, channels, h, width = x.shape
    out_channels, per_group, kh, kw = w.shape
    padded = np.zeros((n, channels, h + 2 * ph, width + 2 * pw))
    padded[:, :, ph : ph + h, pw : pw + width] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, oh, ow))
    per_out = out_channels // groups
    for g, i, j in np.ndindex(groups, oh, ow):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        patch = padded[:, g * per_group : (g + 1) * per_group, rows, cols]
        weight = w[g * per_out : (g + 1) * per_out]
        out[:, g * per_out : (g + 1) * per_out, i, j] = np.einsum("nchw,ochw->no", patch, weight)
    return out + (0 if b is None else b.reshape(1, -1, 1, 1))


def _conv_transpose2d_reference(x, w, b, stride, padding, output_padding, groups, dilation):
    """Transposed convolution by scattering each input value through the kernel."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, in_channels, h, width = x.shape
    _, per_group_out, kh, kw = w.shape
    per_group_in = in_channels // groups
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + output_padding[0]
    full_w = (width - 1) * sw + dw * (kw - 1) + 1 + output_padding[1]
    full = np.zeros((n, per_group_out * groups, full_h, full_w))
    for g, i, j, a, c in np.ndindex(groups, h, width, kh, kw):
        inputs = x[:, g * per_group_in : (g + 1) * per_group_in, i, j]
        taps = w[g * per_group_in : (g + 1) * per_group_in, :, a, c]
        outs = slice(g * per_group_out, (g + 1) * per_group_out)
        full[:, outs, i * sh + a * dh, j * sw + c * dw] += inputs @ taps
    out = full[:, :, ph : full_h - ph, pw : full_w - pw]
    return out + (0 if b is None else b.reshape(1, -1, 1, 1))


def _pool_reference(x, kernel, stride, padding, dilation, reduce, count_include_pad=True):
    """Max or mean over each window by a loop; padding is -inf (max) or 0 (mean)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, channels, h, width = x.shape
    fill = -np.inf if reduce == "max" else 0.0
    padded = np.full((n, channels, h + 2 * ph, width + 2 * pw), fill)
    padded[:, :, ph : ph + h, pw : pw + width] = x
    real = np.zeros(padded.shape[2:])
    real[ph : ph + h, pw : pw + width] = 1
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, channels, oh, ow))
    for i, j in np.ndindex(oh, ow):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        window = padded[:, :, rows, cols]
        if reduce == "max":
            out[:, :, i, j] = window.max(axis=(2, 3))
        else:
            count = kh * kw if count_include_pad else real[rows, cols].sum()
            out[:, :, i, j] = window.sum(axis=(2, 3)) / count
    return out


def _adaptive_reference(x, output_size):
    n, channels, h, w = x.shape
    oh, ow = output_size
    out = np.zeros((n, channels, oh, ow))
    for i, j in np.ndindex(oh, ow):
        top, bottom = (i * h) // oh, -(-((i + 1) * h) // oh)
        left, right = (j * w) // ow, -(-((j + 1) * w) // ow)
        out[:, :, i, j] = x[:, :, top:bottom, left:right].mean(axis=(2, 3))
    return out


# ----- strategies -------------------------------------------------------------------------


@st.composite
def _with_axis(draw):
    shape = draw(S.shapes(min_dims=1))
    return draw(S.arrays(shape, low=-5, high=5)), draw(st.integers(-len(shape), len(shape) - 1))


@st.composite
def _logsumexp_args(draw):
    shape = draw(S.shapes(min_dims=1))
    x = draw(S.arrays(shape, low=-5, high=5))
    return x, draw(S.reduction_axes(len(shape))), draw(st.booleans())


@st.composite
def _linear_args(draw):
    batch = draw(S.shapes(min_dims=0, max_dims=2, max_side=3))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(S.arrays((*batch, n_in)))
    return x, draw(S.arrays((n_out, n_in))), draw(S.arrays((n_out,)))


@st.composite
def _class_problem(draw, spatial: bool = True):
    """Logits (N, C[, d]) and integer targets (N[, d])."""
    n, classes = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    extra = (draw(st.integers(1, 3)),) if spatial and draw(st.booleans()) else ()
    logits = draw(S.arrays((n, classes, *extra), low=-3, high=3))
    target = draw(S.arrays((n, *extra), dtype=np.int64, low=0, high=classes - 1))
    return logits, target


_reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def _class_args(draw):
    logits, target = draw(_class_problem())
    return logits, target, draw(_reductions)


@st.composite
def _weighted_class_args(draw):
    logits, target = draw(_class_problem())
    weight = draw(S.arrays((logits.shape[1],), low=0.5, high=2.0))
    # At least one target stays counted, so the weighted mean is defined.
    ignored = draw(S.boolean_masks(target.shape))
    ignored.flat[0] = False
    target = np.where(ignored, -1, target)
    return logits, target, weight, draw(_reductions)


@st.composite
def _soft_target_args(draw):
    logits, _ = draw(_class_problem())
    target = _softmax(draw(S.arrays(logits.shape)), axis=1)
    return logits, target, draw(_reductions)


@st.composite
def _margin_args(draw):
    logits, target = draw(_class_problem(spatial=False))
    p, margin = draw(st.sampled_from([1, 2])), draw(st.sampled_from([0.5, 1.0]))
    logits = logits.copy()
    # Keep every margin term away from its kink at 0 (moving x[i, j], j != y, moves only it).
    for i, j in np.ndindex(*logits.shape):
        term = margin - logits[i, target[i]] + logits[i, j]
        if j != target[i] and abs(term) < 0.05:
            logits[i, j] += 0.1
    return logits, target, p, margin, draw(_reductions)


@st.composite
def _pair_args(draw, low=-2.0, high=2.0, target_low=-2.0, target_high=2.0):
    shape = draw(S.shapes(min_dims=1))
    x = draw(S.arrays(shape, low=low, high=high))
    return x, draw(S.arrays(shape, low=target_low, high=target_high)), draw(_reductions)


@st.composite
def _batch_norm_args(draw):
    n = draw(st.integers(2, 4))
    channels = draw(st.integers(1, 3))
    spatial = draw(st.sampled_from([(), (2, 2), (1, 3)]))
    x = draw(S.arrays((n, channels, *spatial)))
    # Spread each channel so its variance is not tiny (the gradient scales with 1/std).
    x = x + np.linspace(-1.0, 1.0, n).reshape((n,) + (1,) * (x.ndim - 1))
    return x, draw(S.arrays((channels,), low=0.5, high=2)), draw(S.arrays((channels,)))


@st.composite
def _batch_norm_eval_args(draw):
    x, weight, bias = draw(_batch_norm_args())
    channels = x.shape[1]
    mean = draw(S.arrays((channels,)))
    var = draw(S.arrays((channels,), low=0.2, high=3.0))
    return x, mean, var, weight, bias


@st.composite
def _lrn_args(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 6)), *draw(S.shapes(1, 2, max_side=3)))
    x = draw(S.arrays(shape))
    # Large alpha so the normalisation matters at these magnitudes.
    return (
        x,
        draw(st.integers(1, 5)),
        draw(st.sampled_from([1e-4, 0.5])),
        draw(st.sampled_from([0.75, 0.5])),
        draw(st.sampled_from([1.0, 2.0])),
    )


@st.composite
def _dropout_args(draw):
    return (
        draw(S.arrays(S.shapes(min_dims=1))),
        draw(st.sampled_from([0.0, 0.3, 0.8])),
        draw(st.integers(0, 2**16)),
    )


@st.composite
def _conv_args(draw):
    geometry = draw(S.conv_geometries())
    x = draw(S.arrays(geometry.input_shape))
    w = draw(S.arrays(geometry.weight_shape))
    return x, w, draw(S.arrays((geometry.out_channels,))), geometry


def _conv2d(x, w, b, g):
    return F.conv2d(x, w, b, g.stride, g.padding, g.dilation, g.groups)


def _conv2d_ref(x, w, b, g):
    return _conv2d_reference(x, w, b, g.stride, g.padding, g.dilation, g.groups)


@st.composite
def _conv_transpose_args(draw):
    """Input, (in, out / groups, kh, kw) weight, bias and arguments of a conv_transpose2d."""
    g = draw(S.conv_geometries())
    # PyTorch allows output_padding < max(stride, dilation).
    output_padding = tuple(
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(g.stride, g.dilation)
    )
    # Padding may not eat the whole output: (n - 1) s + d (k - 1) + op + 1 - 2 p >= 1.
    padding = tuple(
        min(p, ((n - 1) * s + d * (k - 1) + o) // 2)
        for p, n, s, d, k, o in zip(
            g.padding, (g.height, g.width), g.stride, g.dilation, g.kernel_size, output_padding
        )
    )
    x = draw(S.arrays(g.input_shape))
    w = draw(S.arrays((g.in_channels, g.out_channels // g.groups, *g.kernel_size)))
    b = draw(S.arrays((g.out_channels,)))
    return x, w, b, (g.stride, padding, output_padding, g.groups, g.dilation)


@st.composite
def _pool_geometry(draw, dilation: bool):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilations = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in kernel)
    # Big enough that every window holds a real value (never only padding).
    sizes = [draw(st.integers(max(1, d * (k - 1) + 1 - p), 6))
             for k, p, d in zip(kernel, padding, dilations)]  # fmt: skip
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *sizes)
    return shape, kernel, stride, padding, dilations


@st.composite
def _max_pool_args(draw):
    shape, kernel, stride, padding, dilation = draw(_pool_geometry(True))
    x = draw(S.distinct(S.arrays(shape)))
    return x, kernel, stride, padding, dilation


@st.composite
def _avg_pool_args(draw):
    shape, kernel, stride, padding, _ = draw(_pool_geometry(False))
    return draw(S.arrays(shape)), kernel, stride, padding, draw(st.booleans())


@st.composite
def _adaptive_args(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *draw(S.shapes(2, 2, max_side=7)))
    output_size = (draw(st.integers(1, shape[2])), draw(st.integers(1, shape[3])))
    return draw(S.arrays(shape)), output_size


def _dropout(x, p, seed):
    return F.dropout(x, p, generator=np.random.default_rng(seed))


def _dropout_reference(x, p, seed):
    keep = np.random.default_rng(seed).random(x.shape, dtype=np.float32) >= p
    return np.where(keep, x / (1 - p), 0.0) if p else x


register(
    OpSpec(
        "relu", F.relu, unary(kinks=(0.0,)), (activation.ReLU, activation.ReLUGrad),
        reference=lambda x: np.maximum(x, 0),
    ),
    OpSpec(
        "leaky_relu", lambda x: F.leaky_relu(x, 0.2), unary(kinks=(0.0,)),
        (activation.LeakyReLU,), reference=lambda x: np.where(x > 0, x, 0.2 * x),
    ),
    OpSpec(
        "sigmoid", F.sigmoid, unary(-6, 6), (activation.Sigmoid,),
        reference=lambda x: 1 / (1 + np.exp(-x)),
    ),
    OpSpec("tanh", F.tanh, unary(-3, 3), (activation.Tanh,), reference=np.tanh),
    OpSpec(
        "softmax", F.softmax, _with_axis, (activation.Softmax,),
        reference=lambda x, axis: np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True),
    ),
    OpSpec(
        "log_softmax", F.log_softmax, _with_axis, (activation.LogSoftmax,),
        reference=lambda x, axis: x - np.log(np.exp(x).sum(axis=axis, keepdims=True)),
    ),
    OpSpec(
        "logsumexp", F.logsumexp, _logsumexp_args, (activation.LogSumExp,),
        reference=lambda x, axis, keep: np.log(np.exp(x).sum(axis=axis, keepdims=keep)),
    ),
    OpSpec(
        "linear", F.linear, _linear_args, (linear.Linear,), wrt=(0, 1, 2),
        reference=lambda x, w, b: np.einsum("...i,oi->...o", x, w) + b,
    ),
    OpSpec(
        "mse_loss", lambda x, t, r: F.mse_loss(x, t, reduction=r), _pair_args, (),
        wrt=(0, 1), reference=lambda x, t, r: _reduced((x - t) ** 2, r),
    ),
    OpSpec(
        "nll_loss", lambda x, t, r: F.nll_loss(x, t, reduction=r), _class_args,
        (loss.NLLLoss,), reference=lambda x, t, r: _nll_reference(x, t, reduction=r),
    ),
    OpSpec(
        "cross_entropy", lambda x, t, r: F.cross_entropy(x, t, reduction=r), _class_args,
        (loss.CrossEntropy, activation.Softmax),
        reference=lambda x, t, r: _nll_reference(_log_softmax_loop(x), t, reduction=r),
    ),
    OpSpec(
        "cross_entropy-weight-ignore_index",
        lambda x, t, w, r: F.cross_entropy(x, t, weight=w, ignore_index=-1, reduction=r),
        _weighted_class_args, (loss.CrossEntropy, activation.Softmax),
        reference=lambda x, t, w, r: _nll_reference(_log_softmax_loop(x), t, w, -1, r),
    ),
    OpSpec(
        "cross_entropy-probabilities", lambda x, t, r: F.cross_entropy(x, t, reduction=r),
        _soft_target_args, (activation.LogSoftmax,),
        reference=lambda x, t, r: _reduced(-(t * _log_softmax_loop(x)).sum(axis=1), r),
    ),
    OpSpec(
        "multi_margin_loss",
        lambda x, t, p, m, r: F.multi_margin_loss(x, t, p=p, margin=m, reduction=r),
        _margin_args, (activation.ReLU,), reference=_multi_margin_reference,
    ),
    OpSpec(
        "binary_cross_entropy",
        lambda x, t, r: F.binary_cross_entropy(x, t, reduction=r),
        lambda: _pair_args(0.05, 0.95, 0.0, 1.0), (loss.BinaryCrossEntropy, ew.Log), wrt=(0, 1),
        reference=lambda x, t, r: _reduced(-(t * np.log(x) + (1 - t) * np.log(1 - x)), r),
    ),
    OpSpec(
        "binary_cross_entropy_with_logits",
        lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r),
        lambda: _pair_args(-4.0, 4.0, 0.0, 1.0), (loss.BCEWithLogits, activation.Sigmoid),
        wrt=(0, 1),
        reference=lambda x, t, r: _reduced(
            -(t * np.log(1 / (1 + np.exp(-x))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-x)))), r
        ),
    ),
    OpSpec(
        "batch_norm-training",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        _batch_norm_args,
        (norm.BatchNorm, norm.Normalise, norm.InvStd, norm.NormaliseGrad, norm.ChannelSums),
        wrt=(0, 1, 2), atol=1e-4,
        reference=_batch_norm_reference,
    ),
    OpSpec(
        "batch_norm-eval",
        lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
        _batch_norm_eval_args, (), wrt=(0, 3, 4),
        reference=lambda x, m, v, w, b: (x - m.reshape((1, -1) + (1,) * (x.ndim - 2)))
        / np.sqrt(v.reshape((1, -1) + (1,) * (x.ndim - 2)) + 1e-5)
        * w.reshape((1, -1) + (1,) * (x.ndim - 2)) + b.reshape((1, -1) + (1,) * (x.ndim - 2)),
    ),
    OpSpec(
        "local_response_norm", F.local_response_norm, _lrn_args, (norm.ChannelWindowSum,),
        reference=_lrn_reference,
    ),
    OpSpec(
        "conv2d", _conv2d, _conv_args, (conv.Conv2d, conv.ConvTranspose2d, conv.Conv2dWeightGrad),
        wrt=(0, 1, 2), reference=_conv2d_ref, examples=0.5,
    ),
    OpSpec(
        "conv2d-no-bias", lambda x, w, b, g: _conv2d(x, w, None, g), _conv_args,
        (conv.Conv2d, conv.ConvTranspose2d, conv.Conv2dWeightGrad), wrt=(0, 1),
        reference=lambda x, w, b, g: _conv2d_ref(x, w, None, g), examples=0.5,
    ),
    OpSpec(
        "conv_transpose2d", lambda x, w, b, args: F.conv_transpose2d(x, w, b, *args),
        _conv_transpose_args, (conv.ConvTranspose2d, conv.Conv2d, conv.Conv2dWeightGrad),
        wrt=(0, 1, 2), reference=lambda x, w, b, a: _conv_transpose2d_reference(x, w, b, *a),
        examples=0.5,
    ),
    OpSpec(
        "max_pool2d", F.max_pool2d, _max_pool_args, (pool.MaxPool2d, pool.MaxPool2dBackward),
        reference=lambda x, k, s, p, d: _pool_reference(x, k, s, p, d, "max"),
    ),
    OpSpec(
        "avg_pool2d",
        lambda x, k, s, p, count: F.avg_pool2d(x, k, s, p, count_include_pad=count),
        _avg_pool_args, (pool.AvgPool2d, pool.AvgPool2dBackward),
        reference=lambda x, k, s, p, count: _pool_reference(x, k, s, p, (1, 1), "mean", count),
        examples=0.5,
    ),
    OpSpec(
        "adaptive_avg_pool2d", F.adaptive_avg_pool2d, _adaptive_args, (),
        reference=_adaptive_reference, examples=0.5,
    ),
    OpSpec(
        "dropout", _dropout, _dropout_args, (), reference=_dropout_reference,
    ),
)  # fmt: skip
