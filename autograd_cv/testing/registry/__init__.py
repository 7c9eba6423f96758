"""The op registry: one row per op, walked by the property tests.

Each row names a public function, a hypothesis strategy for its inputs, the Node
classes it exercises and its tolerances. `tests/testing/test_registry.py` gradchecks every
row on drawn inputs and fails when some Node subclass is in no row, so a new op cannot
land without its gradient being checked. Rows live in one module per op family.
"""

from autograd_cv.testing.registry.spec import OPS, OpSpec, register  # noqa: I001

from autograd_cv.testing.registry import core  # noqa: F401  (registers its rows)
from autograd_cv.testing.registry import vision  # noqa: F401
from autograd_cv.testing.registry import extra  # noqa: F401
from autograd_cv.testing.registry import beyond  # noqa: F401

__all__ = ["OPS", "OpSpec", "register"]
