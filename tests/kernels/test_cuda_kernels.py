"""The CUDA kernel table (autograd_cv/kernels/cuda.py) against the CPU kernels, run under
Numba's CUDA simulator on NumPy arrays: the kernels' index arithmetic is checked on machines
without a GPU. (The simulator runs each CUDA thread in Python, so the shapes are tiny.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import numpy as np
    from autograd_cv import kernels as cpu
    from autograd_cv.kernels.cuda import make_kernels

    gpu = make_kernels(np)
    rng = np.random.default_rng(0)

    def same(a, b, what):
        a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
        for u, v in zip(a, b):
            assert u.shape == v.shape and u.dtype == v.dtype, (what, u.shape, v.shape)
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12, err_msg=what)

    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    for geometry in (((1, 1), (1, 1), (1, 1), 1), ((2, 1), (0, 1), (1, 2), 1)):
        out = cpu.conv2d_forward(x, w, b, *geometry)
        same(gpu.conv2d_forward(x, w, b, *geometry), out, f"conv2d {geometry}")
        g = rng.standard_normal(out.shape)
        same(gpu.conv2d_backward_input(g, w, x.shape, *geometry),
             cpu.conv2d_backward_input(g, w, x.shape, *geometry), f"input grad {geometry}")
        same(gpu.conv2d_backward_weight(x, g, w.shape, *geometry),
             cpu.conv2d_backward_weight(x, g, w.shape, *geometry), f"weight grad {geometry}")
    grouped = rng.standard_normal((4, 1, 3, 3))
    x4 = rng.standard_normal((2, 4, 5, 5))
    same(gpu.conv2d_forward(x4, grouped[:4], None, (1, 1), (1, 1), (1, 1), 4),
         cpu.conv2d_forward(x4, grouped[:4], None, (1, 1), (1, 1), (1, 1), 4), "depthwise")
    same(gpu.im2col(x, (2, 3), (1, 2), (1, 0)), cpu.im2col(x, (2, 3), (1, 2), (1, 0)), "im2col")

    x[0, 0, 1, 1] = np.nan
    for geometry in (((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 3), (2, 1), (1, 1), (1, 2))):
        out, indices = cpu.max_pool2d_forward(x, *geometry)
        same(gpu.max_pool2d_forward(x, *geometry), (out, indices), f"max pool {geometry}")
        g = rng.standard_normal(out.shape)
        same(gpu.max_pool2d_backward(g, indices, x.shape),
             cpu.max_pool2d_backward(g, indices, x.shape), f"max unpool {geometry}")
    x = rng.standard_normal((2, 3, 5, 6))
    for geometry in (((2, 2), (2, 2), (0, 0), True), ((3, 3), (2, 1), (1, 1), False)):
        out = cpu.avg_pool2d_forward(x, *geometry)
        same(gpu.avg_pool2d_forward(x, *geometry), out, f"avg pool {geometry}")
        g = rng.standard_normal(out.shape)
        same(gpu.avg_pool2d_backward(g, x.shape, *geometry),
             cpu.avg_pool2d_backward(g, x.shape, *geometry), f"avg unpool {geometry}")

    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    same(gpu.batch_norm_forward(x, weight, bias, 1e-5),
         cpu.batch_norm_forward(x, weight, bias, 1e-5), "batch norm")
    normalised, inv_std = cpu.batch_norm_forward(x, weight, bias, 1e-5)[1::3]
    g = rng.standard_normal(x.shape)
    same(gpu.batch_norm_backward(g, normalised, weight, inv_std),
         cpu.batch_norm_backward(g, normalised, weight, inv_std), "batch norm backward")
    print("ok")
    """
)


def test_cuda_kernels_match_the_cpu_kernels_under_the_simulator() -> None:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
