"""Run an op-registry row on a device and on the CPU and compare forward and gradients.

Used by the fake-device tests (tests/test_backend.py) and the GPU tests (tests/cuda/).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd_cv as ag
from autograd_cv import backend
from autograd_cv.testing.registry.spec import OpSpec


def place(spec: OpSpec, values: tuple, dtype: Any, where: Any) -> list:
    """The row's inputs on `where`: wrt inputs as Tensors requiring grad, arrays moved too."""
    target = ag.device(where)
    inputs = []
    for i, value in enumerate(values):
        if i in spec.wrt:
            array = np.asarray(value, dtype=dtype)
            inputs.append(ag.tensor(array, device=target, requires_grad=spec.differentiable))
        elif isinstance(value, np.ndarray) and target.type != "cpu":
            inputs.append(backend.to_device(value, target))
        else:
            inputs.append(value)
    return inputs


def _outputs(result: Any) -> list:
    return [result] if isinstance(result, ag.Tensor) else list(result)


def _host(value: Any) -> np.ndarray:
    return backend.to_host(value.data if isinstance(value, ag.Tensor) else value)


def compare_row(
    spec: OpSpec, values: tuple, where: Any, dtype: Any, rtol: float, atol: float
) -> None:
    """Assert the row gives the same outputs, devices and gradients on `where` as on the CPU."""
    target = ag.device(where)
    results = {}
    for name, device in (("cpu", ag.device("cpu")), ("device", target)):
        inputs = place(spec, values, dtype, device)
        outs = _outputs(spec.fn(*inputs))
        for out in outs:
            assert out.device.type == device.type, (
                f"{spec.name}: an output is on {out.device}, its inputs on {device}"
            )
        grads: list = []
        differentiable = [o for o in outs if o.requires_grad]
        if spec.differentiable and differentiable:
            rng = np.random.default_rng(0)
            cotangents = [
                ag.tensor(rng.standard_normal(o.shape).astype(o.dtype), device=device)
                for o in differentiable
            ]
            targets = [inputs[i] for i in spec.wrt]
            grads = list(ag.grad(differentiable, targets, cotangents, allow_unused=True))
            for grad in grads:
                assert grad is None or grad.device.type == device.type, (
                    f"{spec.name}: a gradient is on {grad.device}, the inputs on {device}"
                )
        results[name] = (outs, grads)
    (cpu_outs, cpu_grads), (dev_outs, dev_grads) = results["cpu"], results["device"]
    for i, (want, got) in enumerate(zip(cpu_outs, dev_outs)):
        assert got.dtype == want.dtype, f"{spec.name}: output {i} dtype {got.dtype} != {want.dtype}"
        np.testing.assert_allclose(
            _host(got), _host(want), rtol=rtol, atol=atol, err_msg=f"{spec.name}: output {i}"
        )
    for i, (want, got) in enumerate(zip(cpu_grads, dev_grads)):
        if want is None or got is None:
            assert want is None and got is None, f"{spec.name}: gradient {i} missing on one side"
            continue
        np.testing.assert_allclose(
            _host(got), _host(want), rtol=rtol, atol=atol, err_msg=f"{spec.name}: gradient {i}"
        )


def compare_row_second_order(
    spec: OpSpec, values: tuple, where: Any, dtype: Any, rtol: float, atol: float
) -> None:
    """Assert the row's second derivatives (through its vjp, with respect to the inputs and
    the cotangents) are the same on `where` as on the CPU."""
    target = ag.device(where)
    results = {}
    for name, device in (("cpu", ag.device("cpu")), ("device", target)):
        inputs = place(spec, values, dtype, device)
        outs = [o for o in _outputs(spec.fn(*inputs)) if o.requires_grad]
        rng = np.random.default_rng(0)
        cotangents = [
            ag.tensor(rng.standard_normal(o.shape).astype(o.dtype), device=device,
                      requires_grad=True)
            for o in outs
        ]  # fmt: skip
        targets = [inputs[i] for i in spec.wrt] + cotangents
        firsts = ag.grad(outs, targets[: len(spec.wrt)], cotangents, create_graph=True,
                         allow_unused=True)  # fmt: skip
        firsts = [g for g in firsts if g is not None and g.requires_grad]
        seconds: list = []
        if firsts:
            directions = [
                ag.tensor(rng.standard_normal(g.shape).astype(g.dtype), device=device)
                for g in firsts
            ]
            seconds = list(ag.grad(firsts, targets, directions, allow_unused=True))
        for grad in seconds:
            assert grad is None or grad.device.type == device.type, (
                f"{spec.name}: a second derivative is on {grad.device}, the inputs on {device}"
            )
        results[name] = seconds
    assert len(results["cpu"]) == len(results["device"]), f"{spec.name}: second derivatives differ"
    for i, (want, got) in enumerate(zip(results["cpu"], results["device"])):
        if want is None or got is None:
            assert want is None and got is None, f"{spec.name}: second derivative {i} missing"
            continue
        np.testing.assert_allclose(
            _host(got), _host(want), rtol=rtol, atol=atol,
            err_msg=f"{spec.name}: second derivative {i}",
        )  # fmt: skip
