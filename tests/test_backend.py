"""The device plumbing, checked on a fake device that is as strict as CuPy (no GPU needed).

`autograd_cv.testing.fake_device` registers NumPy arrays dressed as another device's: they
refuse implicit conversion and NumPy operands, so an op that creates host arrays where it
should ask `array_module(x)`, or mixes devices, fails here as it would on a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cv.testing.device_check import compare_row
from autograd_cv.testing.fake_device import fake_device
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
