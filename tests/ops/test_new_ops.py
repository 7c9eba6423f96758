"""The ops of issue 14 beyond their registry rows: integer outputs, indices, and errors that
name the function, the argument and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F


def test_one_hot_and_sorting_indices() -> None:
    out = F.one_hot(np.array([[0, 2], [1, 0]]))
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[0, 1], [0, 0, 1])
    assert F.one_hot(np.array([1]), num_classes=4).shape == (1, 4)
    x = ag.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    values, indices = ag.topk(x, 2)
    np.testing.assert_array_equal(indices.numpy(), [[0, 2]])
    np.testing.assert_array_equal(ag.argsort(x).numpy(), [[1, 2, 0]])
    values.sum().backward()  # the gradient goes to the picked positions only
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 1]])


def test_split_chunk_and_shape_ops_follow_numpy_and_torch() -> None:
    x = ag.tensor(np.arange(10.0))
    assert [p.shape for p in ag.split(x, 5)] == [(2,)] * 5
    assert [p.shape for p in ag.split(x, [3, 8])] == [(3,), (5,), (2,)]
    assert [p.shape for p in ag.chunk(x, 3)] == [(4,), (4,), (2,)]  # PyTorch's chunk sizes
    np.testing.assert_array_equal(ag.roll(x, 3).numpy(), np.roll(np.arange(10.0), 3))
    np.testing.assert_array_equal(x.tile(2).numpy(), np.tile(np.arange(10.0), 2))


def test_new_op_errors_name_the_function_argument_and_shapes() -> None:
    x = ag.tensor(np.ones((2, 3)))
    cases = [
        (lambda: ag.split(x, 4, axis=1), ValueError, r"split: axis 1 of shape \(2, 3\)"),
        (lambda: ag.tril(ag.tensor(np.ones(3))), ValueError, r"tril: expected at least 2"),
        (lambda: ag.gather(x, 1, np.array([[3]])), IndexError, r"gather: index values"),
        (lambda: ag.gather(x, 1, np.ones((2, 3))), ValueError, "gather: index must hold int"),
        (lambda: ag.scatter_add(x, 0, np.zeros((1, 4), int), np.ones((1, 4))), ValueError,
         r"scatter_add: index of shape \(1, 4\) does not fit input of shape \(2, 3\)"),
        (lambda: ag.index_add(x, 0, np.array([0]), np.ones((2, 3))), ValueError,
         r"index_add: expected a 1-D index and source of shape \(1, 3\)"),
        (lambda: ag.einsum("ii->i", x), ValueError, "einsum: a repeated index"),
        (lambda: ag.einsum("ijk->i", x), ValueError, r"einsum: subscripts 'ijk' do not fit"),
        (lambda: ag.topk(x, 4), ValueError, r"topk: k=4 is out of range .* \(2, 3\)"),
        (lambda: F.layer_norm(x, (2,)), ValueError, r"layer_norm: normalized_shape \(2,\)"),
        (lambda: F.group_norm(ag.tensor(np.ones((1, 3, 2))), 2), ValueError,
         r"group_norm: input of shape \(1, 3, 2\)"),
        (lambda: F.conv1d(np.ones((1, 2, 3, 4)), np.ones((1, 2, 3))), ValueError,
         r"conv1d: expected a 3-D \(N, C, L\)"),
        (lambda: F.max_pool1d(np.ones(3), 2), ValueError, "max_pool1d: expected a 3-D"),
        (lambda: F.pixel_shuffle(np.ones((1, 3, 2, 2)), 2), ValueError,
         r"pixel_shuffle: input of shape \(1, 3, 2, 2\)"),
        (lambda: F.one_hot(np.array([3]), 2), ValueError, "one_hot: class 3 does not fit"),
        (lambda: F.embedding(np.array([5]), np.ones((3, 2))), IndexError,
         r"embedding: input values must lie in \[0, 3\)"),
        (lambda: F.gelu(x, approximate="fast"), ValueError, "gelu: approximate must be"),
        (lambda: F.normalize(x, p=0.5), ValueError, "normalize: p must be"),
        (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=2,
                          padding="same"), ValueError, "conv2d: padding='same' needs stride 1"),
        (lambda: ag.pad(x, 1, mode="mirror"), ValueError, "pad: mode must be one of"),
        (lambda: F.max_unpool2d(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99), 2),
         ValueError, r"max_unpool2d: index 99 does not fit an output plane of size \(4, 4\)"),
    ]  # fmt: skip
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()


def test_new_ops_keep_float32() -> None:
    x = ag.tensor(np.random.default_rng(0).normal(size=(2, 4, 6)).astype(np.float32))
    outputs = [
        ag.cumprod(x, 1), ag.prod(x, 2), ag.std(x, 1), ag.einsum("bij->bj", x), ag.sort(x),
        F.gelu(x), F.layer_norm(x, (6,)), F.group_norm(x, 2), F.normalize(x),
        F.conv1d(x, np.ones((3, 4, 2), np.float32)), F.max_pool1d(x, 2), ag.erf(x),
    ]  # fmt: skip
    for out in outputs:
        assert out.dtype == np.float32
