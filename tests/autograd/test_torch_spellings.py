"""torch's spellings next to NumPy's: each computes what torch computes, both spellings agree,
and giving both is an error that names the function."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
import autograd_cv.nn.functional as F
from autograd_cv.testing.gradcheck import gradcheck


def sample(*shape, seed=0):
    return ag.tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


@pytest.mark.parametrize("method", ["sum", "mean"])
def test_dim_keepdim_equal_axis_keepdims(method):
    x = sample(2, 3, 4)
    torch_way = getattr(x, method)(dim=1, keepdim=True)
    numpy_way = getattr(x, method)(axis=1, keepdims=True)
    expected = getattr(np, method)(x.numpy(), axis=1, keepdims=True)
    np.testing.assert_allclose(torch_way.numpy(), expected)
    np.testing.assert_allclose(numpy_way.numpy(), expected)
    np.testing.assert_allclose(getattr(ag, method)(x, dim=(0, 2)).numpy(),
                               getattr(np, method)(x.numpy(), axis=(0, 2)))  # fmt: skip
    with pytest.raises(TypeError, match=f"{method}: got both axis=1 and dim=1"):
        getattr(x, method)(axis=1, dim=1)


def test_functional_softmax_takes_dim_like_the_module():
    x = sample(3, 5)
    np.testing.assert_allclose(F.softmax(x, dim=0).numpy(), F.softmax(x, axis=0).numpy())
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), ag.nn.LogSoftmax(dim=1)(x).numpy())
    shifted = x.numpy() - x.numpy().max(axis=0)
    expected = np.exp(shifted) / np.exp(shifted).sum(axis=0)
    np.testing.assert_allclose(x.softmax(0).numpy(), expected, rtol=1e-12)
    with pytest.raises(TypeError, match="softmax: got both"):
        F.softmax(x, axis=0, dim=1)


def test_max_min_with_dim_return_values_and_indices():
    x = sample(3, 4)
    values, indices = x.max(1)
    np.testing.assert_array_equal(values.numpy(), x.numpy().max(axis=1))
    np.testing.assert_array_equal(indices.numpy(), x.numpy().argmax(axis=1))
    assert indices.dtype == np.int64
    result = ag.min(x, dim=0, keepdim=True)
    assert result.values.shape == (1, 4) and result.indices.shape == (1, 4)
    np.testing.assert_array_equal(result.indices.numpy()[0], x.numpy().argmin(axis=0))
    # NumPy's spellings keep returning the values alone
    np.testing.assert_array_equal(x.max(axis=1).numpy(), x.numpy().max(axis=1))
    assert x.max().shape == () and float(x.max()) == x.numpy().max()
    # torch.max(a, b) is the elementwise maximum
    np.testing.assert_array_equal(ag.max(x, -x).numpy(), np.abs(x.numpy()))


def test_max_dim_sends_the_gradient_to_one_element_and_gradchecks():
    tied = ag.tensor(np.array([[2.0, 2.0, 1.0]]), requires_grad=True)
    tied.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(tied.grad.numpy(), [[1.0, 0.0, 0.0]])
    gradcheck(lambda t: t.max(1).values * 3, [sample(3, 4)])
    gradcheck(lambda t: ag.min(t, 0, keepdim=True).values, [sample(3, 4, seed=1)])


def test_argmax_dim_keepdim():
    x = sample(2, 5)
    assert x.argmax(dim=1, keepdim=True).shape == (2, 1)
    np.testing.assert_array_equal(x.argmax(1).numpy(), x.numpy().argmax(1))
    assert ag.argmax(x).item() == x.numpy().argmax()
    assert x.argmin(axis=0).dtype == np.int64


def test_var_and_std_follow_the_spelling():
    x = sample(4, 6)
    np.testing.assert_allclose(x.var(axis=1).numpy(), np.var(x.numpy(), axis=1))
    np.testing.assert_allclose(x.var(dim=1).numpy(), np.var(x.numpy(), axis=1, ddof=1))
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), np.var(x.numpy(), axis=1))
    np.testing.assert_allclose(x.std(dim=0, correction=0).numpy(), np.std(x.numpy(), axis=0))


def test_transpose_two_ints_swap_and_permutations_still_work():
    x = sample(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.transpose(-1, 0).shape == (4, 3, 2)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)
    assert x.transpose().shape == (4, 3, 2)
    assert ag.transpose(x, 1, 2).shape == (2, 4, 3)
    assert ag.transpose(x, axes=(1, 0, 2)).shape == (3, 2, 4)
    m = sample(2, 3)
    np.testing.assert_array_equal(m.transpose(0, 1).numpy(), m.numpy().T)
    np.testing.assert_array_equal(m.transpose(1, 0).numpy(), m.numpy().T)
    assert x.mT.shape == (2, 4, 3) and x.permute(1, 2, 0).shape == (3, 4, 2)
    assert x.permute((2, 1, 0)).shape == (4, 3, 2)
    gradcheck(lambda t: t.transpose(0, 2) * ag.tensor(np.arange(24.0).reshape(4, 3, 2)), [x])


def test_shape_methods():
    x = sample(2, 3, 4)
    assert x.view(-1, 4).shape == (6, 4) and x.view(6, 4).shape == (6, 4)
    assert x.view_as(sample(4, 6)).shape == (4, 6) and x.reshape(24).shape == (24,)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4) and ag.flatten(x, 1).shape == (2, 12)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert x.unsqueeze(1).squeeze(dim=1).shape == (2, 3, 4)
    assert ag.tensor(np.ones((1, 3))).expand(4, -1).shape == (4, 3)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.size == 24 and x.numel() == 24 and x.dim() == 3 and ag.numel(x) == 24
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 0"):
        x.flatten(2, 0)
    with pytest.raises(ValueError, match="unsqueeze: dim 5 is out of range"):
        x.unsqueeze(5)
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range .* \(2, 3, 4\)"):
        x.size(3)


def test_casts_clone_and_device_moves():
    x = sample(2, 2)
    assert x.float().dtype == np.float32 and x.double() is x
    assert x.long().dtype == np.int64 and x.int().dtype == np.int32 and x.bool().dtype == bool
    assert x.type_as(ag.zeros(1)).dtype == ag.float32
    assert x.to(ag.float32).dtype == np.float32 and x.to("cpu") is x and x.cpu() is x
    assert x.to(ag.device("cpu"), ag.float32).dtype == np.float32
    assert x.to(ag.zeros(1, dtype=ag.float16)).dtype == np.float16
    assert x.device == ag.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    copy = x.clone()
    assert not np.shares_memory(copy.numpy(), x.numpy())
    (copy * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 2.0))
    for move in (lambda: x.cuda(), lambda: x.to("cuda:0"), lambda: ag.zeros(2, device="cuda")):
        with pytest.raises(RuntimeError, match="device 'cuda(:0)?' is not available: "):
            move()


def test_casting_float32_up_to_float64_keeps_float64():
    # The dispatch turns NumPy's promotions to float64 into float32; a cast asks for it.
    x = ag.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    for wide in (x.double(), x.to(ag.float64), x.type_as(ag.zeros(1, dtype=ag.float64)),
                 x.astype(np.float64)):  # fmt: skip
        assert wide.dtype == np.float64
    (x.double() ** 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(4))
    assert ag.nn.Linear(2, 2).double().weight.dtype == np.float64
    assert (x.long() * 0.5).dtype == np.float32  # the promotion rule itself still holds


def test_elementwise_methods_and_comparisons():
    a, b = sample(3), sample(3, seed=1)
    np.testing.assert_allclose(a.add(b, alpha=2).numpy(), a.numpy() + 2 * b.numpy())
    np.testing.assert_allclose(a.sub(b).numpy(), a.numpy() - b.numpy())
    np.testing.assert_allclose(a.mul(b).div(b).numpy(), a.numpy())
    np.testing.assert_allclose(a.pow(2).numpy(), a.numpy() ** 2)
    np.testing.assert_allclose(a.clamp(min=0).numpy(), np.maximum(a.numpy(), 0))
    np.testing.assert_allclose(ag.clamp(a, max=0.1).numpy(), np.minimum(a.numpy(), 0.1))
    for name, ufunc in [
        ("eq", np.equal),
        ("ne", np.not_equal),
        ("lt", np.less),
        ("le", np.less_equal),
        ("gt", np.greater),
        ("ge", np.greater_equal),
    ]:
        np.testing.assert_array_equal(getattr(a, name)(b).numpy(), ufunc(a.numpy(), b.numpy()))
    assert a.eq(a).sum().item() == 3 and a.equal(a) and not a.equal(b)  # fmt: skip
    assert a.tolist() == a.numpy().tolist() and isinstance(a.sum().item(), float)


def test_module_level_functions():
    a, b = sample(2, 3), sample(2, 3, seed=1)
    assert ag.cat([a, b], dim=1).shape == (2, 6) and ag.concat([a, b]).shape == (4, 3)
    assert ag.stack([a, b], dim=2).shape == (2, 3, 2)
    assert ag.concatenate([a, b], axis=1).shape == (2, 6)
    with pytest.raises(TypeError, match="stack: got both"):
        ag.stack([a, b], axis=0, dim=1)
    array = np.zeros(3)
    shared = ag.from_numpy(array)
    array[0] = 5
    assert shared.numpy()[0] == 5 and shared.dtype == np.float64
    assert ag.empty(2, 3).shape == (2, 3) and ag.empty_like(a).dtype == a.dtype
    assert ag.arange(5).dtype == ag.int64 and ag.arange(0, 1, 0.25).dtype == ag.float32
    np.testing.assert_allclose(ag.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(ag.eye(2, 3).numpy(), np.eye(2, 3))
    assert ag.full((2,), 3.0, dtype=ag.float64).dtype == np.float64
    assert ag.zeros_like(a, dtype=ag.int64).dtype == np.int64 and ag.ones(2).dtype == ag.float
    ag.manual_seed(7)
    first = (ag.randint(0, 10, (50,)), ag.randn(3), ag.rand(3), ag.randperm(5), ag.randn_like(a))
    ag.manual_seed(7)
    second = (ag.randint(10, (50,)), ag.randn(3), ag.rand(3), ag.randperm(5), ag.randn_like(a))
    for one, two in zip(first, second):
        np.testing.assert_array_equal(one.numpy(), two.numpy())
    assert first[0].dtype == np.int64 and 0 <= first[0].numpy().min() <= first[0].numpy().max() < 10
    assert ag.is_tensor(a) and not ag.is_tensor(a.numpy())
    assert ag.uint8 == np.uint8 and ag.bool == np.bool_ and ag.long == np.int64


def test_device_api_reports_a_cpu_only_build():
    assert ag.device("cpu") == "cpu" and ag.device("cuda:1").index == 1
    assert repr(ag.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert not ag.cuda.is_available() and ag.cuda.device_count() == 0
    assert not ag.accelerator.is_available() and ag.accelerator.current_accelerator() is None
    assert not ag.backends.mps.is_available()
    with pytest.raises(ValueError, match="device: unknown device type 'tpu'"):
        ag.device("tpu")
    model = ag.nn.Linear(2, 2)
    assert model.to(ag.device("cpu")) is model and model.to(ag.float64).weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="Module.to: device 'cuda' is not available"):
        model.to("cuda")


def test_grad_mode_decorators():
    x = sample(2)

    @ag.no_grad
    def bare():
        return (x * 2).requires_grad

    @ag.no_grad()
    def called():
        return (x * 2).requires_grad

    @ag.inference_mode()
    def inference():
        return (x * 2).requires_grad

    assert not bare() and not called() and not inference()
    assert bare.__name__ == "bare" and (x * 2).requires_grad
    with ag.inference_mode():
        assert not (x * 2).requires_grad
        with ag.enable_grad():
            assert (x * 2).requires_grad
