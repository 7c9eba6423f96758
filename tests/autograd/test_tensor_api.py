"""The Tensor surface users type: factories, NumPy-named methods, in-place ops, errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.autograd import node as node_module


def test_factories_shapes_dtypes_and_seed() -> None:
    assert ag.zeros(2, 3).shape == (2, 3) and ag.zeros(2, 3).dtype == np.float32
    assert ag.ones((4,), requires_grad=True).requires_grad
    np.testing.assert_array_equal(ag.full((2,), 7.0).numpy(), [7.0, 7.0])
    np.testing.assert_array_equal(ag.arange(3).numpy(), [0, 1, 2])
    np.testing.assert_array_equal(ag.arange(1, 7, 2).numpy(), [1, 3, 5])
    like = ag.tensor(np.ones((2, 2), dtype=np.float64))
    assert ag.zeros_like(like).dtype == np.float64 and ag.ones_like(like).numpy().sum() == 4
    ag.manual_seed(3)
    a, r = ag.randn(5), ag.rand(5)
    ag.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), ag.randn(5).numpy())
    np.testing.assert_array_equal(r.numpy(), ag.rand(5).numpy())
    assert (r.numpy() >= 0).all() and (r.numpy() < 1).all() and a.dtype == np.float32


def test_reflected_operators_and_conversions() -> None:
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = 2.0**x + 1 - x
    (1 / y).sum().backward()
    assert x.grad.shape == (2,)
    m = ag.tensor(np.eye(2))
    np.testing.assert_array_equal((np.ones((1, 2)) @ m).numpy(), [[1.0, 1.0]])
    assert float(ag.tensor([2.5])) == 2.5 and int(ag.tensor([3])) == 3
    assert len(ag.zeros(4, 2)) == 4 and ag.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert ag.tensor([3.0, 9.0, 1.0]).argmax().item() == 1
    assert ag.tensor([3.0, 9.0, 1.0]).argmin().item() == 2
    assert ag.tensor(np.ones((2, 3))).T.shape == (3, 2)
    assert ag.tensor(np.ones((2, 3, 4))).transpose(2, 0, 1).shape == (4, 2, 3)
    assert ag.tensor(np.ones((1, 3, 1))).squeeze().shape == (3,)
    assert ag.tensor(np.ones((2, 3))).dot(ag.tensor(np.ones(3))).shape == (2,)
    assert abs(ag.tensor([-2.0])).item() == 2.0 and (+ag.tensor([1.0])).item() == 1.0


def test_inplace_ops_bump_version_and_setitem() -> None:
    x = ag.tensor(np.zeros(3))
    versions = [x.version]
    x.add_(1.0).mul_(3.0).sub_(1.0, alpha=2.0)
    versions.append(x.version)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])
    x.fill_(5.0)
    x.copy_(np.array([1.0, 2.0, 3.0]))
    x[0] = 9.0
    np.testing.assert_array_equal(x.numpy(), [9.0, 2.0, 3.0])
    versions.append(x.version)
    x.zero_()
    versions.append(x.version)
    assert versions == sorted(set(versions)), "every in-place write must raise the version"
    assert x.numpy().sum() == 0


def test_setitem_into_graph_output_is_refused() -> None:
    x = ag.tensor(np.ones(2), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="mul"):
        y[0] = 1.0


def test_requires_grad_toggle_and_detach() -> None:
    x = ag.tensor(np.ones(2)).requires_grad_()
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).requires_grad_(False)
    with pytest.raises(TypeError, match="floating-point"):
        ag.tensor([1, 2]).requires_grad_()


def test_shape_op_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="squeeze"):
        ag.tensor(np.ones((2, 3))).squeeze(0)
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\), \(3, 2\)"):
        ag.concatenate([ag.tensor(np.ones((2, 3))), ag.tensor(np.ones((3, 2)))], axis=0)
    with pytest.raises(ValueError, match="stack: all inputs need one shape"):
        ag.stack([ag.tensor(np.ones(2)), ag.tensor(np.ones(3))])
    with pytest.raises(ValueError, match="need at least one"):
        ag.stack([])
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        ag.tensor(np.ones((2, 3))).sum(axis=3)
    with pytest.raises(ValueError, match="not a permutation"):
        ag.tensor(np.ones((2, 3))).transpose((0, 0))
    with pytest.raises(ValueError, match="pad_width must be non-negative"):
        ag.pad(ag.tensor(np.ones(2)), -1)
    with pytest.raises(IndexError, match=r"getitem.*\(2,\)"):
        ag.tensor(np.ones(2))[5]
    with pytest.raises(ValueError, match="clip: give"):
        ag.clip(ag.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="empty"):
        ag.tensor(np.ones((0,))).max()
    with pytest.raises(TypeError, match="cannot make a tensor"):
        ag.tensor([object()])


def test_observers_see_forward_and_backward() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.forward, self.backward = [], []

        def on_forward(self, node, seconds, result):
            self.forward.append(None if node is None else node.name)

        def on_backward(self, node, seconds, input_grads):
            self.backward.append(node.name)

    recorder = Recorder()
    node_module.observers.append(recorder)
    try:
        x = ag.tensor(np.ones(2), requires_grad=True)
        (x.exp() * 2).sum().backward()
        ag.tensor(np.ones(2)) * 2  # not recorded: reported with node None
    finally:
        node_module.observers.remove(recorder)
    assert recorder.forward == ["exp", "mul", "sum", None]
    assert recorder.backward == ["sum", "mul", "exp"]
