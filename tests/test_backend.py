"""The device plumbing, checked on a fake device that is as strict as CuPy (no GPU needed).

`autograd_cv.testing.fake_device` registers NumPy arrays dressed as another device's: they
refuse implicit conversion and NumPy operands, so an op that creates host arrays where it
should ask `array_module(x)`, or mixes devices, fails here as it would on a GPU.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv import backend, nn, optim
from autograd_cv import functional as F
from autograd_cv.testing.device_check import compare_row, compare_row_second_order
from autograd_cv.testing.fake_device import FakeArray, fake_device
from autograd_cv.testing.registry import OPS

ROWS = {spec.name: spec for spec in OPS}


@pytest.fixture
def fake():
    with fake_device("cuda") as backend_:
        yield backend_


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_on_the_fake_device_matches_the_cpu(name: str, dtype, fake) -> None:
    spec = ROWS[name]
    if dtype == np.float32 and not spec.float32:
        pytest.skip("the row changes the dtype by definition")
    tolerance = 1e-9 if dtype == np.float64 else 1e-5

    @settings(max_examples=1)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        compare_row(spec, values, "cuda", dtype, rtol=tolerance, atol=tolerance)

    check()


@pytest.mark.parametrize(
    "name", sorted(n for n, s in ROWS.items() if s.differentiable and s.gradgrad)
)
def test_second_derivatives_on_the_fake_device_match_the_cpu(name: str, fake) -> None:
    spec = ROWS[name]

    @settings(max_examples=1)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        compare_row_second_order(spec, values, "cuda", np.float64, rtol=1e-9, atol=1e-9)

    check()


def test_import_never_loads_cupy_or_the_cuda_kernels() -> None:
    code = (
        "import sys, autograd_cv, autograd_cv.functional, autograd_cv.nn;"
        "print(sorted(m for m in sys.modules if 'cupy' in m or 'kernels.cuda' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_a_backend_cuda_is_unavailable_and_to_says_why_in_one_line() -> None:
    code = (
        "import autograd_cv as ag, numpy as np\n"
        "print(ag.cuda.is_available(), ag.cuda.device_count())\n"
        "try:\n    ag.tensor(np.ones(2)).to('cuda')\n"
        "except RuntimeError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if "True" in out.stdout.splitlines()[0]:
        pytest.skip("this machine has a working CUDA backend")
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "False 0"
    assert len(lines) == 2 and lines[1].startswith("to: device 'cuda' is not available: ")


def test_device_propagates_through_a_training_step_and_optimizer_state(fake) -> None:
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))  # fmt: skip
    reference = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))  # fmt: skip
    reference.load_state_dict(model.state_dict())
    assert model.to("cuda") is model
    assert all(p.device == ag.device("cuda", 0) for p in model.parameters())
    assert all(isinstance(b.data, FakeArray) for b in model.buffers() if b.ndim)
    rng = np.random.default_rng(1)
    images = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 10, 8)
    runs = []
    for net, where in ((model, "cuda"), (reference, "cpu")):
        optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            loss = F.cross_entropy(net(ag.tensor(images, device=where)), ag.tensor(labels))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        state = next(iter(optimizer.state.values()))
        assert backend.device_of(state["momentum_buffer"]).type == where
        runs.append(net.state_dict())
    for key, value in runs[0].items():
        assert isinstance(value, FakeArray) or value.ndim == 0 and key.endswith("tracked")
        np.testing.assert_allclose(backend.to_host(value), runs[1][key], rtol=1e-5, atol=1e-6)


def test_mixing_devices_names_the_op_and_both_devices(fake) -> None:
    on_device = ag.ones(2, 3, device="cuda")
    with pytest.raises(RuntimeError, match=r"^matmul: .*cuda:0 and cpu"):
        on_device @ ag.ones(3, 2)
    with pytest.raises(RuntimeError, match=r"^conv2d: .*cuda:0 and cpu"):
        F.conv2d(ag.ones(1, 1, 4, 4, device="cuda"), ag.ones(1, 1, 3, 3))


def test_numpy_of_a_device_tensor_says_to_call_cpu_first(fake) -> None:
    x = ag.tensor([1.0, 2.0], device="cuda")
    with pytest.raises(TypeError, match=r"call \.cpu\(\) first"):
        x.numpy()
    np.testing.assert_array_equal(x.cpu().numpy(), [1.0, 2.0])
    assert "device='cuda:0'" in repr(x)


def test_to_and_cpu_round_trip_carries_gradients_back(fake) -> None:
    x = ag.tensor(np.arange(4.0), requires_grad=True)
    on_device = x.to("cuda")
    assert on_device.device.type == "cuda" and on_device.cuda() is on_device
    back = (on_device * on_device).cpu()
    assert back.device == ag.device("cpu")
    back.sum().backward()
    assert x.grad.device == ag.device("cpu")
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(4.0))
    (second,) = ag.grad((x.to("cuda") ** 3).sum(), [x], create_graph=True)
    (hessian_diagonal,) = ag.grad(second.sum(), [x])
    np.testing.assert_allclose(hessian_diagonal.numpy(), 6 * np.arange(4.0))


def test_creation_functions_take_device(fake) -> None:
    for made in (ag.zeros(2, device="cuda"), ag.ones(2, device="cuda"),
                 ag.full((2,), 3.0, device="cuda"), ag.arange(3, device="cuda"),
                 ag.randn(2, device="cuda"), ag.eye(2, device="cuda"),
                 ag.zeros_like(ag.ones(2), device="cuda")):  # fmt: skip
        assert isinstance(made.data, FakeArray), made


def test_save_writes_host_arrays_and_load_places_them(fake, tmp_path) -> None:
    model = nn.Linear(3, 2).to("cuda")
    path = tmp_path / "model.npz"
    ag.save(model.state_dict(), path)
    on_host = ag.load(path)
    assert all(type(v) is np.ndarray for v in on_host.values())
    on_device = ag.load(path, map_location="cuda")
    assert all(isinstance(v, FakeArray) for v in on_device.values())
    cpu_model = nn.Linear(3, 2)
    cpu_model.load_state_dict(on_device)  # device arrays into a CPU model: copied over
    np.testing.assert_array_equal(cpu_model.weight.numpy(), model.weight.cpu().numpy())
    model.load_state_dict(on_host)  # and host arrays into a device model
    assert isinstance(model.weight.data, FakeArray)


def test_argmax_argmin_and_instance_norm_statistics_stay_on_the_device(fake) -> None:
    # Found on the GPU: both built their results through np.asarray, which CuPy refuses.
    values = np.random.default_rng(0).random((4, 5))
    x = ag.tensor(values, device="cuda")
    assert x.argmax(1).device == ag.device("cuda:0")
    np.testing.assert_array_equal(x.argmax(1).cpu().numpy(), values.argmax(1))
    assert x.argmin().item() == values.argmin()
    y = ag.tensor(np.random.default_rng(1).random((2, 3, 4, 4)), device="cuda")
    mean, var = ag.zeros(3, device="cuda"), ag.ones(3, device="cuda")
    out = F.instance_norm(y, mean, var, use_input_stats=False)
    assert out.device == ag.device("cuda:0")


def test_max_pool1d_indices_and_smooth_l1_stay_on_the_device(fake) -> None:
    # Both read their own intermediate with .numpy(), which refuses device tensors.
    values = np.random.default_rng(2).random((2, 3, 8))
    x = ag.tensor(values, device="cuda")
    out, indices = F.max_pool1d(x, 2, return_indices=True)
    assert indices.device == ag.device("cuda:0")
    _, want = F.max_pool1d(ag.tensor(values), 2, return_indices=True)
    np.testing.assert_array_equal(indices.cpu().numpy(), want.numpy())
    loss = nn.SmoothL1Loss()(x, ag.zeros(2, 3, 8, device="cuda"))
    assert loss.device == ag.device("cuda:0")
    np.testing.assert_allclose(
        loss.item(), nn.SmoothL1Loss()(ag.tensor(values), ag.zeros(2, 3, 8)).item()
    )


def test_integer_powers_with_negative_exponents_match_the_cpu(fake) -> None:
    base, exponent = np.array([-3, -1, 0, 1, 2, 5]), np.array([-2, -1, 0, 3, -3, 2])
    for power in (ag.tensor(exponent), -3):  # a tensor exponent, then a fixed one
        want = ag.tensor(base) ** power
        on_device = power.to("cuda") if isinstance(power, ag.Tensor) else power
        got = ag.tensor(base, device="cuda") ** on_device
        assert isinstance(got.data, FakeArray) and got.dtype == want.dtype
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_indices_follow_the_input_to_its_device(fake) -> None:
    table = np.arange(12.0).reshape(4, 3)
    weight = ag.tensor(table, device="cuda")
    rows = F.embedding([[0, 3], [3, 1]], weight)  # a host list of indices: copied over
    assert isinstance(rows.data, FakeArray)
    np.testing.assert_array_equal(rows.cpu().numpy(), table[[[0, 3], [3, 1]]])
    picked = ag.gather(weight, 1, np.array([[2], [0], [1], [2]]))  # a host ndarray
    np.testing.assert_array_equal(picked.cpu().numpy(), [[2.0], [3.0], [7.0], [11.0]])
    added = ag.index_add(weight, 0, [1, 1], ag.ones(2, 3, device="cuda"))
    np.testing.assert_array_equal(added.cpu().numpy(), table + [[0], [2], [0], [0]])
    with pytest.raises(RuntimeError, match=r"^gather: .*cpu and cuda:0"):
        ag.gather(ag.tensor(table), 1, ag.zeros(4, 1, dtype=np.int64, device="cuda"))
    encoded = F.one_hot(ag.tensor([2, 0], device="cuda"))
    assert isinstance(encoded.data, FakeArray) and encoded.dtype == np.int64
    np.testing.assert_array_equal(encoded.cpu().numpy(), [[0, 0, 1], [1, 0, 0]])


def test_sort_and_topk_indices_stay_on_the_device(fake) -> None:
    x = ag.tensor([[3.0, 1.0, 2.0, 1.0]], device="cuda")
    values, indices = ag.topk(x, 2, largest=False)
    assert isinstance(indices.data, FakeArray) and indices.dtype == np.int64
    np.testing.assert_array_equal(indices.cpu().numpy(), [[1, 3]])  # ties keep their order
    np.testing.assert_array_equal(values.cpu().numpy(), [[1.0, 1.0]])
    np.testing.assert_array_equal(ag.argsort(x, descending=True).cpu().numpy(), [[0, 2, 1, 3]])
    scalar = ag.tensor(5.0, device="cuda")
    for index in (ag.argsort(scalar), ag.topk(scalar, 1)[1]):
        assert isinstance(index.data, FakeArray) and index.cpu().item() == 0


def test_sign_targets_follow_the_inputs_to_their_device_and_are_checked_there(fake) -> None:
    first, second = ag.tensor([[1.0, 0.0], [0.5, 0.5]]), ag.tensor([[0.0, 1.0], [0.5, -0.5]])
    on_device = first.to("cuda"), second.to("cuda")
    for loss, target in ((F.margin_ranking_loss, [[1, -1], [-1, 1]]),
                         (F.cosine_embedding_loss, [1, -1])):  # fmt: skip
        got = loss(*on_device, target, reduction="none")  # a host list: copied over
        assert isinstance(got.data, FakeArray)
        want = loss(first, second, target, reduction="none")
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy())
        with pytest.raises(ValueError, match="must be 1 or -1"):
            loss(*on_device, ag.tensor(np.zeros(np.shape(target)), device="cuda"))


def test_unbatched_losses_and_ceil_mode_avg_pool_stay_on_the_device(fake) -> None:
    # A device target of an unbatched loss went through np.asarray; ceil_mode's divisors
    # were built on the host.
    logits = np.random.default_rng(3).standard_normal(5)
    for loss in (F.cross_entropy, lambda x, t: F.nll_loss(F.log_softmax(x, 0), t)):
        got = loss(ag.tensor(logits, device="cuda"), ag.tensor(2, device="cuda"))
        assert got.device == ag.device("cuda:0")
        np.testing.assert_allclose(got.item(), loss(ag.tensor(logits), ag.tensor(2)).item())
    x = np.random.default_rng(4).random((1, 2, 5, 5))
    pooled = F.avg_pool2d(ag.tensor(x, device="cuda"), 2, ceil_mode=True)
    np.testing.assert_allclose(
        pooled.cpu().numpy(), F.avg_pool2d(ag.tensor(x), 2, ceil_mode=True).numpy()
    )
