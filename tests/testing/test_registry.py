"""Walk the op registry: every registered op is gradchecked (and double-backward checked)
on hypothesis-drawn inputs, its forward is compared with an independent reference, and
float32 stays float32. A Node subclass that no row exercises fails the suite."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv.autograd.node import Node
from autograd_cv.testing import gradcheck, gradgradcheck
from autograd_cv.testing.registry import OPS, OpSpec

ROWS = {spec.name: spec for spec in OPS}


def _as_inputs(spec: OpSpec, values: tuple, dtype=np.float64, requires_grad=True) -> list:
    inputs = []
    for i, value in enumerate(values):
        if i in spec.wrt:
            array = np.asarray(value, dtype=dtype)
            inputs.append(ag.tensor(array, requires_grad=requires_grad))
        else:
            inputs.append(value)
    return inputs


def _outputs(result) -> list:
    return [result] if isinstance(result, ag.Tensor) else list(result)


def _node_types(tensors) -> set[type]:
    from autograd_cv.autograd.engine import topological_order

    roots = [t.node for t in tensors if isinstance(t, ag.Tensor) and t.node is not None]
    return {type(n) for n in topological_order(roots)}


def _examples(spec: OpSpec) -> settings:
    return settings(max_examples=max(1, int(settings().max_examples * spec.examples)))


@pytest.mark.parametrize("name", sorted(n for n, s in ROWS.items() if s.differentiable))
def test_gradcheck(name: str) -> None:
    spec = ROWS[name]

    @_examples(spec)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        inputs = _as_inputs(spec, values)
        gradcheck(spec.fn, inputs, atol=spec.atol, rtol=spec.rtol)
        if spec.gradgrad:
            gradgradcheck(spec.fn, _as_inputs(spec, values), atol=spec.atol, rtol=spec.rtol)

    check()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_forward_matches_reference_and_float32(name: str) -> None:
    spec = ROWS[name]

    @_examples(spec)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        out64 = _outputs(spec.fn(*_as_inputs(spec, values)))
        if spec.reference is not None:
            raw = [np.asarray(v, dtype=np.float64) if i in spec.wrt else v
                   for i, v in enumerate(values)]  # fmt: skip
            expected = spec.reference(*raw)
            expected = [expected] if isinstance(expected, np.ndarray) or np.isscalar(expected) \
                else list(expected)  # fmt: skip
            for got, want in zip(out64, expected):
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-7, atol=1e-9)
        if spec.float32:
            out32 = _outputs(spec.fn(*_as_inputs(spec, values, np.float32)))
            for got32, got64 in zip(out32, out64):
                if got64.dtype.kind == "f":
                    assert got32.dtype == np.float32, f"{name} turned float32 into {got32.dtype}"
                    np.testing.assert_allclose(got32.numpy(), got64.numpy(), rtol=1e-4, atol=1e-4)

    check()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_exercises_its_nodes(name: str) -> None:
    spec = ROWS[name]

    @settings(max_examples=3)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        inputs = _as_inputs(spec, values)
        outs = _outputs(spec.fn(*inputs))
        seen = _node_types(outs)
        differentiable = [o for o in outs if o.requires_grad]
        if differentiable:
            targets = [inputs[i] for i in spec.wrt]
            # Cotangents that require grad, so the vjp's own ops are recorded too.
            cotangents = [ag.tensor(np.ones(o.shape), requires_grad=True) for o in differentiable]
            grads = ag.grad(differentiable, targets, cotangents, create_graph=True,
                            allow_unused=True)  # fmt: skip
            seen |= _node_types(grads)
        if not spec.differentiable:
            # Non-differentiable ops record no node; check the forward's result type instead.
            assert all(o.node is None for o in outs)
            return
        missing = set(spec.nodes) - seen
        assert not missing, f"row {name} declares {missing} but its graphs never contain them"

    check()


def _all_node_classes() -> set[type]:
    found, stack = set(), [Node]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith("autograd_cv.") and sub not in found:
                found.add(sub)
                stack.append(sub)
    return found


def test_every_node_class_is_in_the_registry() -> None:
    import autograd_cv.functional  # noqa: F401 - load every op family

    covered = {node for spec in OPS for node in spec.nodes}
    missing = sorted(cls.__qualname__ for cls in _all_node_classes() - covered)
    assert not missing, f"ops without a registry row (add one): {missing}"
