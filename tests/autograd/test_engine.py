"""The backward driver's contract: PyTorch's semantics for backward and grad."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import viz
from autograd_cv.testing import gradcheck, gradgradcheck


def leaf(values, dtype=np.float64) -> ag.Tensor:
    return ag.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_long_chain_has_no_recursion_limit() -> None:
    x = leaf([0.5, -0.25])
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_diamond_accumulates_cotangents() -> None:
    x = leaf([2.0])
    a = x * 3.0
    b = x * x
    (a + b + a * b).sum().backward()
    # d/dx (3x + x^2 + 3x^3) = 3 + 2x + 9x^2
    np.testing.assert_allclose(x.grad.numpy(), [3 + 4 + 36])


def test_a_node_runs_only_after_every_node_that_feeds_it() -> None:
    # y's first cotangent arrives at once (from out), its second only after a long side
    # chain has run; and a second output that y also feeds is seeded beside the first.
    x = leaf([0.5, 2.0])
    y = x * x
    side = y
    for _ in range(50):
        side = side * 1.0 + 0.0
    out = y + side
    ag.backward([out.sum(), (y * 3.0).sum()])
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * (1 + 1 + 3))


def test_requires_grad_set_to_a_number_still_records() -> None:
    x = ag.tensor([1.0, 2.0])
    w = ag.tensor([3.0, 4.0])
    x.requires_grad = 1  # PyTorch refuses non-bools; here they mean what bool() says
    w.requires_grad = np.True_
    (x * w).relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("needs", [(False, False), (True, False), (False, True), (True, True)])
def test_the_two_tensor_path_records_what_the_general_path_does(needs) -> None:
    # `x * w` takes node.binary's spelled-out path; Node._apply is the one every op can take.
    from autograd_cv.ops.elementwise import Multiply

    a, b = (
        ag.tensor(np.arange(1.0, 4.0, dtype=np.float32) + i, requires_grad=need)
        for i, need in enumerate(needs)
    )
    fast, general = a * b, Multiply()._apply((a, b))
    np.testing.assert_array_equal(fast.numpy(), general.numpy())
    assert fast.requires_grad == general.requires_grad == any(needs)
    if not any(needs):
        assert fast.node is None and general.node is None
    else:
        for node in (fast.node, general.node):
            assert node.needs_input_grad == needs
            assert [edge is leaf for edge, leaf in zip(node.edges, (a, b))] == list(needs)
            assert node.inputs == (a, b) and node.shape == (3,) and node.dtype == np.float32
        assert fast.node.sequence < general.node.sequence
    with ag.no_grad():
        assert (a * b).node is None and not (a * b).requires_grad


def test_an_observer_sees_the_same_dtypes_as_the_plain_path() -> None:
    x = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    with viz.profile():
        doubled = x.double()
        summed = x + np.float64(1.0)
    assert doubled.dtype == np.float64  # a cast's float64 is asked for
    assert summed.dtype == np.float32  # a weak scalar keeps x's dtype
    doubled.sum().backward()
    assert x.grad.dtype == np.float32


def test_leaf_grad_accumulates_across_calls_until_reset() -> None:
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_second_backward_through_freed_graph_names_the_op_and_retain_graph() -> None:
    x = leaf([1.0, 2.0])
    loss = x.exp().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"sum.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_backward_releases_intermediates_while_loss_is_alive() -> None:
    x = leaf(np.ones(1000))
    hidden = x.exp()
    watcher = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert watcher() is not None, "before backward the graph keeps what the vjps need"
    loss.backward()
    gc.collect()
    assert watcher() is None, "after backward the graph must drop intermediate tensors"
    assert loss.node.inputs is None and loss.node.freed


def test_nonscalar_backward_needs_a_gradient() -> None:
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_gradient_shape_is_checked() -> None:
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_grad_returns_without_touching_dot_grad() -> None:
    x = leaf([1.0, 2.0, 3.0])
    (g,) = ag.grad((x**3).sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert x.grad is None


def test_grad_of_grad_gives_hessian_vector_product() -> None:
    x = leaf([0.5, -1.0, 2.0])
    f = (x**3).sum() + (x[0] * x[1] * x[2])
    (g,) = ag.grad(f, x, create_graph=True)
    v = np.array([1.0, 2.0, -1.0])
    (hv,) = ag.grad((g * v).sum(), x)
    a, b, c = x.numpy()
    hessian = np.diag(6 * x.numpy()) + np.array([[0, c, b], [c, 0, a], [b, a, 0]])
    np.testing.assert_allclose(hv.numpy(), hessian @ v)


def test_third_derivative() -> None:
    x = leaf([0.7])
    y = x.exp() * x
    (g1,) = ag.grad(y.sum(), x, create_graph=True)
    (g2,) = ag.grad(g1.sum(), x, create_graph=True)
    (g3,) = ag.grad(g2.sum(), x)
    # d^3/dx^3 x e^x = (x + 3) e^x
    np.testing.assert_allclose(g3.numpy(), (0.7 + 3) * np.exp(0.7))


def test_gradient_penalty_backward_with_create_graph() -> None:
    w = leaf([0.3, -0.2])
    x = leaf([1.0, 2.0])
    out = (w * x).exp().sum()
    (gx,) = ag.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    # gx_i = w_i e^{w_i x_i}; d/dw_i gx_i^2 = 2 gx_i e^{w_i x_i} (1 + w_i x_i)
    e = np.exp(w.numpy() * x.numpy())
    expected = 2 * (w.numpy() * e) * e * (1 + w.numpy() * x.numpy())
    np.testing.assert_allclose(w.grad.numpy(), expected)


def test_grad_unused_input_is_an_error_unless_allowed() -> None:
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        ag.grad((x * 2).sum(), [x, y])
    gx, gy = ag.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.item() == 2.0


def test_grad_of_intermediate_tensor() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = ag.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_backward_without_graph_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_and_is_thread_local() -> None:
    x = leaf([1.0])
    seen = {}

    def other_thread() -> None:
        seen["other"] = (x * 2).requires_grad

    with ag.no_grad():
        assert not (x * 2).requires_grad
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        with ag.enable_grad():
            assert (x * 2).requires_grad
    assert seen["other"] is True
    assert (x * 2).requires_grad


def test_no_grad_as_decorator() -> None:
    @ag.no_grad()
    def double(t):
        return t * 2

    assert not double(leaf([1.0])).requires_grad


def test_hook_can_replace_gradient_on_leaf_and_intermediate() -> None:
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    h = x * 1.0
    handle = h.register_hook(lambda g: g + 1)
    (h * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    handle.remove()
    x.grad = None
    h2 = x * 1.0
    (h2 * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])


def test_retain_grad_keeps_intermediate_gradient() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())


def test_detach_numpy_item() -> None:
    x = leaf([1.5])
    y = x * 2
    d = y.detach()
    assert d.node is None and not d.requires_grad
    assert d.numpy() is y.numpy()
    assert y.item() == 3.0
    with pytest.raises(ValueError, match="one-element"):
        leaf([1.0, 2.0]).item()


def test_dtypes_follow_the_design() -> None:
    assert ag.tensor([1.0, 2.0]).dtype == np.float32
    assert ag.tensor(np.zeros(2)).dtype == np.float64
    assert ag.tensor([1, 2]).dtype.kind == "i"
    x = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for y in (x * 2.0, x * np.float64(2.0), x + 1, 2.0 / x, x**2, x.mean(), x.var(), -x):
        assert y.dtype == np.float32, y
    (x * np.float64(3.0)).sum().backward()
    assert x.grad.dtype == np.float32


def test_gradient_dtype_matches_input_when_mixed() -> None:
    a = ag.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = ag.tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_int_tensor_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        ag.tensor([1, 2], requires_grad=True)


def test_matmul_shape_error_names_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4, 5\)"):
        ag.tensor(np.ones((2, 3))) @ ag.tensor(np.ones((4, 5)))


def test_broadcast_error_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)|\(4,\).*\(2, 3\)"):
        ag.broadcast_to(ag.tensor(np.ones((2, 3))), (4,))
    with pytest.raises(ValueError, match="reshape.*\\(2, 3\\).*\\(4,\\)"):
        ag.tensor(np.ones((2, 3))).reshape(4)


def test_broadcasting_binary_ops_reduce_cotangents() -> None:
    a = leaf(np.ones((3, 1)))
    b = leaf(np.arange(4.0))
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 6.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_max_ties_share_the_gradient() -> None:
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = leaf([1.0, 2.0])
    z = leaf([1.0, 3.0])
    ag.maximum(y, z).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.0])
    np.testing.assert_allclose(z.grad.numpy(), [0.5, 1.0])


def test_repeated_integer_indices_accumulate() -> None:
    x = leaf([10.0, 20.0, 30.0])
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_boolean_mask_and_slices() -> None:
    x = leaf(np.arange(6.0).reshape(2, 3))
    (x[x.numpy() > 2].sum() + x[:, 1:].sum() * 2).backward()
    expected = np.array([[0, 2, 2], [1, 3, 3]], dtype=float)  # mask: row 1; slice: columns 1-2, x2
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_comparisons_are_boolean_and_not_differentiable() -> None:
    x = leaf([1.0, 2.0])
    c = x > 1.5
    assert c.dtype == np.bool_ and not c.requires_grad
    np.testing.assert_array_equal(c.numpy(), [False, True])


def test_inplace_on_leaf_requiring_grad_needs_no_grad() -> None:
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x.add_(1.0)
    with ag.no_grad():
        x.add_(1.0)
    assert x.item() == 2.0 and x.version > 0


def test_gradcheck_reports_index_and_values_for_a_wrong_vjp() -> None:
    from autograd_cv.autograd.node import Node

    class WrongSquare(Node):
        name = "wrong_square"

        def forward(self, x):
            return x * x

        def vjp(self, grad, out, x):
            return (grad * x,)  # missing the factor 2

    with pytest.raises(AssertionError, match=r"input 0 .* at index \(0,\): analytic .* numeric"):
        gradcheck(lambda t: WrongSquare()(t), [leaf([1.0, 2.0])])


def test_gradcheck_uses_directional_check_for_large_inputs() -> None:
    x = leaf(np.random.default_rng(0).standard_normal(5000))
    assert gradcheck(lambda t: (t * t).exp().sum(), [x], atol=1e-4)


def test_vjp_returning_wrong_shape_is_caught_by_the_engine() -> None:
    from autograd_cv.autograd.node import Node

    class BadShape(Node):
        name = "bad_shape"

        def forward(self, x):
            return x.sum()

        def vjp(self, grad, out, x):
            return (np.ones(7),)

    with pytest.raises(RuntimeError, match=r"bad_shape: vjp returned a gradient of shape \(7,\)"):
        BadShape()(leaf([1.0, 2.0])).backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp_returning_the_wrong_number_of_gradients_is_caught(create_graph: bool) -> None:
    from autograd_cv.autograd.node import Node

    class TwoForOne(Node):
        name = "two_for_one"

        def forward(self, x):
            return x * 2

        def vjp(self, grad, out, x):
            return grad * 2, grad

    with pytest.raises(RuntimeError, match="two_for_one: vjp returned 2 gradients for 1 inputs"):
        TwoForOne()(leaf([1.0, 2.0])).sum().backward(create_graph=create_graph)


def test_a_cotangent_of_another_dtype_reaches_the_leaf_in_the_leafs_dtype() -> None:
    from autograd_cv.autograd.node import Node

    class Float64Grad(Node):
        name = "float64_grad"

        def forward(self, x, y):
            return x * y

        def vjp(self, grad, out, x, y):
            return (grad * y).astype(np.float64), (grad * x).astype(np.float64)

    x = ag.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = ag.tensor(np.array([3.0, 4.0], np.float32), requires_grad=True)
    Float64Grad()(x, y).sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 2.0])


def test_repr_and_bool() -> None:
    x = leaf([1.0, 2.0])
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<mul>" in repr(x * 2)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x > 0)
    assert bool(ag.tensor([1.0]) > 0)


def test_leaf_grads_never_alias_each_other_the_callers_array_or_a_hooks_array() -> None:
    a = ag.tensor(np.ones(3), requires_grad=True)
    b = ag.tensor(np.ones(3), requires_grad=True)
    given = np.array([1.0, 2.0, 3.0])
    (a + b).backward(given)  # add's vjp hands the same cotangent to both leaves
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, given) and not np.shares_memory(b.grad.data, given)
    a.grad.data *= 0  # in-place changes to one .grad (as clip_grad_norm_ makes) stay there
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(given, [1.0, 2.0, 3.0])
    leaf = ag.tensor(np.ones(2), requires_grad=True)
    leaf.backward(given[:2])  # the leaf is the output: its .grad must not be the caller's
    assert not np.shares_memory(leaf.grad.data, given)
    kept = np.array([7.0, 7.0])
    c = ag.tensor(np.ones(2), requires_grad=True)
    c.register_hook(lambda g: kept)
    (c * 2).sum().backward()
    assert not np.shares_memory(c.grad.data, kept)
    np.testing.assert_array_equal(c.grad.numpy(), [7.0, 7.0])


def test_leaf_grad_takes_a_fresh_cotangent_of_its_dtype_and_shape() -> None:
    x = ag.tensor(np.ones((4, 5), np.float32), requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (4, 5)
    assert x.grad.data.flags.owndata and x.grad.data.flags.writeable
    np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 5), 3.0))
    (x * 3).sum().backward()  # accumulates, as before
    np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 5), 6.0))


def test_matmul_with_a_transposed_weight_gives_its_gradient_in_the_weights_layout() -> None:
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    g = rng.standard_normal((5, 4))
    (x @ w.T).backward(g)
    np.testing.assert_allclose(w.grad.numpy(), g.T @ x.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g @ w.numpy(), rtol=1e-12)
    assert w.grad.data.flags.c_contiguous
    # Gradients and second derivatives through the transposed-layout path, by differences.
    a = ag.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    gradcheck(lambda p, q: ((p @ q.T) ** 2).sum(), [a, b])
    gradgradcheck(lambda p, q: ((p @ q.T) ** 2).sum(), [a, b])
