"""Every registered op against hostile values and layouts.

Inputs drawn by each registry row are replaced by extreme values (+-1e30, 1e-45, 0,
NaN, Inf) in float32 and float64, and by non-contiguous or negative-stride views. An op
may refuse with a clear ValueError, but must not crash otherwise, and the ops that are
meant to be numerically stable must stay finite for finite inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv.testing.registry import OPS, OpSpec

ROWS = {spec.name: spec for spec in OPS}

HOSTILE_FINITE = (1e30, -1e30, 1e-45, -1e-45, 0.0, 1.0, -1.0)
HOSTILE = (*HOSTILE_FINITE, np.nan, np.inf, -np.inf)

#: rows whose forward and gradient must be finite for every finite input
STABLE = {"softmax", "log_softmax", "cross_entropy", "sigmoid", "tanh", "logsumexp"}


def _is_stable(name: str) -> bool:
    return any(name == s or name.startswith(s + "-") for s in STABLE)


def _layout(array: np.ndarray, kind: str) -> np.ndarray:
    """The same values in a hostile memory layout."""
    if kind == "negative-stride" and array.ndim:
        return np.flip(np.flip(array).copy())
    if kind == "non-contiguous" and array.ndim:
        return np.repeat(array, 2, axis=-1)[..., ::2]
    return array


def _hostile_inputs(spec: OpSpec, values: tuple, data, finite: bool) -> list:
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    pool = HOSTILE_FINITE if finite else HOSTILE
    inputs = []
    for i, value in enumerate(values):
        if i not in spec.wrt:
            inputs.append(value)
            continue
        array = np.asarray(value, dtype=dtype)
        if array.size:
            picks = data.draw(
                st.lists(st.sampled_from(pool), min_size=array.size, max_size=array.size),
                label=f"values {i}",
            )
            with np.errstate(over="ignore", under="ignore"):
                array = np.asarray(picks, dtype=np.float64).astype(dtype).reshape(array.shape)
        kind = data.draw(st.sampled_from(["plain", "negative-stride", "non-contiguous"]))
        inputs.append(ag.tensor(_layout(array, kind), requires_grad=True))
    return inputs


def _run(spec: OpSpec, inputs: list):
    """Forward and backward; a clear ValueError is an acceptable answer."""
    try:
        result = spec.fn(*inputs)
    except ValueError as error:
        assert str(error), "a ValueError must say what is wrong"
        return None
    outs = [result] if isinstance(result, ag.Tensor) else list(result)
    differentiable = [o for o in outs if o.requires_grad]
    if differentiable:
        targets = [t for t in inputs if isinstance(t, ag.Tensor) and t.requires_grad]
        grads = ag.grad(differentiable, targets, [np.ones(o.shape) for o in differentiable],
                        allow_unused=True)  # fmt: skip
        return outs, grads
    return outs, ()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_hostile_values_do_not_crash(name: str) -> None:
    spec = ROWS[name]

    @settings(max_examples=max(3, settings().max_examples // 2))
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        inputs = _hostile_inputs(spec, values, data, finite=False)
        with np.errstate(all="ignore"):
            _run(spec, inputs)

    check()


@pytest.mark.parametrize("name", sorted(n for n in ROWS if _is_stable(n)))
def test_stable_ops_stay_finite_for_finite_inputs(name: str) -> None:
    spec = ROWS[name]

    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        inputs = _hostile_inputs(spec, values, data, finite=True)
        with np.errstate(all="ignore"):
            ran = _run(spec, inputs)
        assert ran is not None, f"{name} refused finite inputs"
        outs, grads = ran
        for out in outs:
            assert np.isfinite(out.numpy()).all(), f"{name} forward is not finite"
        for grad in grads:
            if grad is not None:
                assert np.isfinite(grad.numpy()).all(), f"{name} gradient is not finite"

    check()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_layout_does_not_change_the_result(name: str) -> None:
    spec = ROWS[name]

    @settings(max_examples=3)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        kind = data.draw(st.sampled_from(["negative-stride", "non-contiguous"]))
        plain = [ag.tensor(np.asarray(v, dtype=np.float64)) if i in spec.wrt else v
                 for i, v in enumerate(values)]  # fmt: skip
        strided = [ag.tensor(_layout(np.asarray(v, dtype=np.float64), kind)) if i in spec.wrt
                   else v for i, v in enumerate(values)]  # fmt: skip
        expected, got = spec.fn(*plain), spec.fn(*strided)
        expected = [expected] if isinstance(expected, ag.Tensor) else expected
        got = [got] if isinstance(got, ag.Tensor) else got
        for a, b in zip(expected, got):
            # BLAS may sum in another order for strided operands: equal up to rounding.
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)

    check()


def test_empty_and_size_one_axes() -> None:
    for shape in [(0,), (0, 3), (3, 0), (1,), (1, 1), (2, 1, 3)]:
        x = ag.tensor(np.ones(shape), requires_grad=True)
        y = (x * 2 + 1).exp().sum(axis=0).sum() + x.mean() * 0 if x.size else (x * 2).sum()
        y.backward()
        assert x.grad.shape == shape
        assert np.isfinite(x.grad.numpy()).all()
