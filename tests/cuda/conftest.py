"""tests/cuda/ runs only where CuPy sees a GPU; elsewhere (CI) every test here is skipped."""

from __future__ import annotations

import os

import pytest

import autograd_cv as ag

if os.environ.get("AUTOGRAD_CV_FAKE_CUDA") == "1":
    # A dry run of these tests on the CPU: the strict fake device stands in for the GPU
    # (it checks this file and the plumbing, never the CUDA kernels).
    from autograd_cv.testing.fake_device import fake_device

    _FAKE = fake_device("cuda")  # held: dropping it would unregister the device
    _FAKE.__enter__()


def pytest_collection_modifyitems(config, items) -> None:
    if ag.cuda.is_available():
        return
    reason = f"no CUDA GPU: {ag.cuda.why_unavailable()}"
    for item in items:
        if "tests/cuda/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=reason))
