"""The engine on an NVIDIA GPU against the CPU: every registry row, gradient checks in
float64 on the GPU, LeNet-5 training steps, checkpoints across devices. Skipped without a GPU
(see conftest.py); `benchmarks/gpu_check.sh` runs these on the GPU machine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv import backend, nn, optim
from autograd_cv import functional as F
from autograd_cv.models import LeNet5
from autograd_cv.testing import gradcheck, gradgradcheck
from autograd_cv.testing.device_check import compare_row, compare_row_second_order
from autograd_cv.testing.registry import OPS

ROWS = {spec.name: spec for spec in OPS}
GRADCHECKED = ["conv2d", "conv2d-no-bias", "conv_transpose2d", "max_pool2d", "avg_pool2d",
               "batch_norm-training", "local_response_norm"]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_on_the_gpu_matches_the_cpu(name: str, dtype) -> None:
    spec = ROWS[name]
    if dtype == np.float32 and not spec.float32:
        pytest.skip("the row changes the dtype by definition")
    # cuBLAS and the CPU's BLAS sum in different orders; float32 keeps about 6 digits.
    tolerance = 1e-8 if dtype == np.float64 else 2e-4

    @settings(max_examples=3)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        compare_row(spec, values, "cuda", dtype, rtol=tolerance, atol=tolerance)

    check()


@pytest.mark.parametrize(
    "name", sorted(n for n, s in ROWS.items() if s.differentiable and s.gradgrad)
)
def test_second_derivatives_on_the_gpu_match_the_cpu(name: str) -> None:
    spec = ROWS[name]

    @settings(max_examples=2)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        compare_row_second_order(spec, values, "cuda", np.float64, rtol=1e-8, atol=1e-8)

    check()


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck_on_the_gpu_in_float64(name: str) -> None:
    spec = ROWS[name]

    def on_gpu(*args):
        moved = [a.to("cuda") if isinstance(a, ag.Tensor) else a for a in args]
        out = spec.fn(*moved)
        assert out.is_cuda
        return out.cpu()  # the checker perturbs host values; every op in between runs on the GPU

    @settings(max_examples=2)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        inputs = [ag.tensor(np.asarray(v, np.float64), requires_grad=True) if i in spec.wrt
                  else v for i, v in enumerate(values)]  # fmt: skip
        gradcheck(on_gpu, inputs, atol=spec.atol, rtol=spec.rtol)
        if spec.gradgrad:
            gradgradcheck(on_gpu, inputs, atol=spec.atol, rtol=spec.rtol)

    check()


def test_twenty_lenet5_sgd_steps_agree_with_the_cpu() -> None:
    ag.manual_seed(0)
    cpu_model = LeNet5()
    gpu_model = LeNet5()
    gpu_model.load_state_dict(cpu_model.state_dict())
    gpu_model.to("cuda")
    rng = np.random.default_rng(0)
    images = rng.random((20, 32, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, (20, 32))
    losses = {}
    for model, where in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        losses[where] = []
        for step in range(20):
            x = ag.tensor(images[step], device=where)
            loss = F.cross_entropy(model(x), ag.tensor(labels[step], device=where))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses[where].append(loss.item())
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-3, atol=1e-4)
    for key, value in gpu_model.state_dict().items():
        np.testing.assert_allclose(backend.to_host(value), cpu_model.state_dict()[key],
                                   rtol=1e-3, atol=1e-4, err_msg=key)  # fmt: skip


def test_save_on_the_gpu_load_on_the_cpu_and_back(tmp_path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).cuda()
    model(ag.randn(2, 3, 6, 6, device="cuda"))  # moves the running statistics
    path = tmp_path / "gpu.npz"
    ag.save(model.state_dict(), path)
    on_host = ag.load(path)
    assert all(type(v) is np.ndarray for v in on_host.values())
    cpu_model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    cpu_model.load_state_dict(on_host)
    back = ag.load(path, map_location="cuda")
    assert all(backend.device_of(v).type == "cuda" for v in back.values())
    gpu_again = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).cuda()
    gpu_again.load_state_dict(back)
    x = np.random.default_rng(0).random((2, 3, 6, 6), dtype=np.float32)
    cpu_model.eval(), gpu_again.eval()
    np.testing.assert_allclose(gpu_again(ag.tensor(x, device="cuda")).cpu().numpy(),
                               cpu_model(ag.tensor(x)).numpy(), rtol=1e-4, atol=1e-5)  # fmt: skip


def test_numpy_refuses_and_mixing_is_named() -> None:
    x = ag.ones(2, device="cuda")
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        x + ag.ones(2)
