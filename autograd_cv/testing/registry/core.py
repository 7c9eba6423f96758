"""Registry rows for the array ops of the core engine."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv.ops import elementwise as ew
from autograd_cv.ops import linalg, reduce, shape
from autograd_cv.ops.device import ToDevice
from autograd_cv.testing import strategies as S
from autograd_cv.testing.registry.spec import OpSpec, register, unary


def _binary(low_b: float = -2.0, high_b: float = 2.0, distinct: bool = False, kinks_b=()):
    @st.composite
    def pair(draw):
        shape_a, shape_b = draw(S.broadcastable_shapes(2))
        a = draw(S.arrays(shape_a))
        b_values = S.arrays(shape_b, low=low_b, high=high_b)
        if kinks_b:
            b_values = S.away_from(b_values, kinks_b)
        b = draw(b_values)
        if distinct:
            # keep |a - b| away from 0 so finite differences never straddle a tie
            a = a + np.where(np.abs(a - b) < 0.05, 0.2, 0.0)
        return a, b

    return pair


def _reduction(distinct: bool = False):
    @st.composite
    def draw(draw):
        shape_ = draw(S.shapes(min_dims=1))
        values = S.arrays(shape_)
        x = draw(S.distinct(values) if distinct else values)
        return x, draw(S.reduction_axes(len(shape_))), draw(st.booleans())

    return draw


@st.composite
def _matmul_operands(draw):
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched"]))
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    if kind == "vv":
        shapes = (k,), (k,)
    elif kind == "mv":
        shapes = (n, k), (k,)
    elif kind == "vm":
        shapes = (k,), (k, m)
    elif kind == "mm":
        shapes = (n, k), (k, m)
    else:
        batch_a, batch_b = draw(S.broadcastable_shapes(2, max_dims=2, max_side=3))
        shapes = (*batch_a, n, k), (*batch_b, k, m)
    return draw(S.arrays(shapes[0])), draw(S.arrays(shapes[1]))


@st.composite
def _reshape_args(draw):
    x = draw(S.arrays(S.shapes()))
    sizes = [n for n in range(1, x.size + 1) if x.size % n == 0]
    first = draw(st.sampled_from(sizes))
    return x, (first, -1)


@st.composite
def _transpose_args(draw):
    x = draw(S.arrays(S.shapes()))
    return x, tuple(draw(st.permutations(range(x.ndim))))


@st.composite
def _broadcast_args(draw):
    shape_in, shape_out = draw(
        S.broadcastable_shapes(2).filter(lambda s: np.broadcast_shapes(*s) != s[0])
    )
    return draw(S.arrays(shape_in)), np.broadcast_shapes(shape_in, shape_out)


@st.composite
def _pad_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    return x, widths


@st.composite
def _join_args(draw):
    base = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(0, len(base) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        part_shape = list(base)
        part_shape[axis] = draw(st.integers(1, 3))
        parts.append(draw(S.arrays(tuple(part_shape))))
    return parts[0], parts[-1], axis


@st.composite
def _basic_index_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    return x, draw(S.basic_indices(x.shape))


@st.composite
def _array_index_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    return x, draw(S.integer_array_indices(x.shape))


@st.composite
def _mask_args(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    return x, draw(S.boolean_masks(x.shape))


def _clip_args():
    return S.away_from(S.arrays(S.shapes()), (-0.5, 0.7)).map(lambda a: (a,))


@st.composite
def _clip_bounds_args(draw):
    shape_x, shape_low, shape_high = draw(S.broadcastable_shapes(3))
    low = draw(S.arrays(shape_low, low=-1.5, high=-0.2))
    high = draw(S.arrays(shape_high, low=0.2, high=1.5))
    # keep x away from both bounds (and draw some crossed bounds: low > high)
    x = draw(S.arrays(shape_x))
    if draw(st.booleans()):
        low, high = high + 0.3, low
    for bound in (low, high):
        x = x + np.where(np.abs(x - bound) < 0.05, 0.2, 0.0)
    return x, low, high


def _clip_bounds_reference(x, low, high):
    return np.minimum(np.maximum(x, low), high)


def _where_args():
    @st.composite
    def draw(draw):
        shape_c, shape_a, shape_b = draw(S.broadcastable_shapes(3))
        return draw(S.arrays(shape_a)), draw(S.arrays(shape_b)), draw(S.boolean_masks(shape_c))

    return draw()


register(
    OpSpec("add", lambda a, b: a + b, _binary(), (ew.Add,), wrt=(0, 1), reference=np.add),
    OpSpec("sub", lambda a, b: a - b, _binary(), (ew.Subtract,), wrt=(0, 1), reference=np.subtract),
    OpSpec("mul", lambda a, b: a * b, _binary(), (ew.Multiply,), wrt=(0, 1), reference=np.multiply),
    OpSpec(
        "div", lambda a, b: a / b, _binary(0.5, 2.0), (ew.Divide,), wrt=(0, 1), reference=np.divide
    ),
    OpSpec("neg", lambda x: -x, unary(), (ew.Negative,), reference=np.negative),
    OpSpec(
        "pow-scalar",
        lambda x: x**3 + x**2 + x**0.5 + x**1 + x**0,
        unary(0.1, 2.0),
        (ew.PowerScalar,),
        reference=lambda x: x**3 + x**2 + x**0.5 + x + 1,
    ),
    OpSpec(  # the base stays away from 0, where d/da of a**b is unbounded for b < 1
        "pow", lambda a, b: (a * a + 0.5) ** b, _binary(-1.5, 1.5), (ew.Power,),
        wrt=(0, 1), reference=lambda a, b: (a * a + 0.5) ** b,
    ),
    OpSpec("exp", ag.exp, unary(), (ew.Exp,), reference=np.exp),
    OpSpec("log", ag.log, unary(0.2, 3.0), (ew.Log,), reference=np.log),
    OpSpec("sqrt", ag.sqrt, unary(0.2, 3.0), (ew.Sqrt,), reference=np.sqrt),
    OpSpec("abs", ag.abs, unary(kinks=(0.0,)), (ew.Abs,), reference=np.abs),
    OpSpec(
        "maximum", ag.maximum, _binary(distinct=True), (ew.Maximum,), wrt=(0, 1),
        reference=np.maximum,
    ),
    OpSpec(
        "minimum", ag.minimum, _binary(distinct=True), (ew.Minimum,), wrt=(0, 1),
        reference=np.minimum,
    ),
    OpSpec(
        "where", lambda a, b, c: ag.where(c, a, b), _where_args, (ew.Where,), wrt=(0, 1),
        reference=lambda a, b, c: np.where(c, a, b),
    ),
    OpSpec(
        "clip", lambda x: ag.clip(x, -0.5, 0.7), _clip_args, (ew.Clip,),
        reference=lambda x: np.clip(x, -0.5, 0.7),
    ),
    OpSpec(
        "clip-tensor-bounds", ag.clip, _clip_bounds_args, (ew.Clip,), wrt=(0, 1, 2),
        reference=_clip_bounds_reference,
    ),
    OpSpec(
        # to the input's own device; tests/test_backend.py and tests/cuda/ move across
        "to-device", lambda x: ToDevice(x.device)(x) * 1.0, unary(), (ToDevice,),
        reference=lambda x: x,
    ),
    OpSpec(
        "astype", lambda x: x.astype(np.float64) * 1.0, unary(), (ew.Cast,),
        reference=lambda x: x, float32=False,  # it changes the dtype by definition
    ),
    OpSpec(
        "compare",
        lambda a, b: [a < b, a <= b, a > b, a >= b, a == b, a != b],
        _binary(),
        (ew.Compare,),
        wrt=(0, 1),
        differentiable=False,
        reference=lambda a, b: [a < b, a <= b, a > b, a >= b, a == b, a != b],
    ),
    OpSpec(
        "sum", lambda x, axis, keep: x.sum(axis, keep), _reduction(), (reduce.Sum,),
        reference=lambda x, axis, keep: np.sum(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "mean", lambda x, axis, keep: x.mean(axis, keep), _reduction(), (reduce.Mean,),
        reference=lambda x, axis, keep: np.mean(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "max", lambda x, axis, keep: x.max(axis=axis, keepdims=keep), _reduction(distinct=True),
        (reduce.Extreme,), reference=lambda x, axis, keep: np.max(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "min", lambda x, axis, keep: x.min(axis=axis, keepdims=keep), _reduction(distinct=True),
        (reduce.Extreme,), reference=lambda x, axis, keep: np.min(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "var", lambda x, axis, keep: x.var(axis, keep), _reduction(),
        (reduce.Mean, reduce.Sum),
        reference=lambda x, axis, keep: np.var(x, axis=axis, keepdims=keep),
    ),
    OpSpec(
        "matmul", lambda a, b: a @ b, _matmul_operands, (linalg.MatMul,), wrt=(0, 1),
        reference=np.matmul,
    ),
    OpSpec(
        "reshape", lambda x, s: x.reshape(s), _reshape_args, (shape.Reshape,),
        reference=lambda x, s: x.reshape(s),
    ),
    OpSpec(
        "transpose", lambda x, axes: x.transpose(axes), _transpose_args, (shape.Transpose,),
        reference=lambda x, axes: x.transpose(axes),
    ),
    OpSpec(
        "T-swapaxes", lambda x: x.T + 0 if x.ndim < 2 else x.swapaxes(0, -1), unary(),
        (shape.Transpose,), reference=lambda x: x.T if x.ndim < 2 else x.swapaxes(0, -1),
    ),
    OpSpec(
        "broadcast_to", ag.broadcast_to, _broadcast_args, (shape.BroadcastTo,),
        reference=np.broadcast_to,
    ),
    OpSpec(
        "expand_dims-squeeze-flatten",
        lambda x: ag.squeeze(ag.expand_dims(x, 0), 0).flatten(),
        unary(),
        (shape.Reshape,),
        reference=lambda x: x.flatten(),
    ),
    OpSpec(
        "pad", lambda x, w: ag.pad(x, w, value=0.5), _pad_args, (shape.Pad,),
        reference=lambda x, w: np.pad(x, w, constant_values=0.5),
    ),
    OpSpec(
        "concatenate", lambda a, b, axis: ag.concatenate([a, b, a], axis), _join_args,
        (shape.Concatenate,), wrt=(0, 1),
        reference=lambda a, b, axis: np.concatenate([a, b, a], axis),
    ),
    OpSpec(
        "stack", lambda a, b, axis: ag.stack([a, a * 2], axis), _join_args, (shape.Stack,),
        reference=lambda a, b, axis: np.stack([a, a * 2], axis),
    ),
    OpSpec(
        "getitem-basic", lambda x, i: x[i], _basic_index_args,
        (shape.GetItem, shape.IndexAdd), reference=lambda x, i: x[i],
    ),
    OpSpec(
        "getitem-int-array", lambda x, i: x[i], _array_index_args,
        (shape.GetItem, shape.IndexAdd), reference=lambda x, i: x[i],
    ),
    OpSpec(
        "getitem-mask", lambda x, m: x[m], _mask_args, (shape.GetItem, shape.IndexAdd),
        reference=lambda x, m: x[m],
    ),
)  # fmt: skip
