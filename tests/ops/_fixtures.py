"""PyTorch's numbers for small fixed cases, made once by fixtures/make_torch_reference.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_PATH = Path(__file__).with_name("fixtures") / "torch_reference.npz"


def torch_case(name: str) -> dict[str, np.ndarray]:
    """The arrays stored for one case, keyed by field name ("x", "out", "grad", ...)."""
    with np.load(_PATH, allow_pickle=False) as data:
        prefix = name + "."
        return {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}


_OPS_PATH = Path(__file__).with_name("fixtures") / "torch_reference_ops.npz"


def torch_ops_case(name: str) -> dict[str, np.ndarray]:
    """One case of torch_reference_ops.npz (made by fixtures/make_torch_reference_ops.py)."""
    with np.load(_OPS_PATH, allow_pickle=False) as data:
        prefix = name + "."
        found = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
    if not found:
        raise KeyError(f"no case {name!r} in {_OPS_PATH.name}; regenerate the fixtures")
    return found
