"""default_collate: a list of samples -> one batch, as torch.utils.data's default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograd_cv.tensor import DEFAULT_FLOAT, Tensor


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch.

    Tensors and ndarrays are stacked along a new first axis (a Tensor comes back); Python
    ints become an int64 tensor, Python floats a float32 tensor (0.75 stays 0.75), bools a
    bool tensor; strings stay a list; tuples, lists and dicts are collated field by field.
    """
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    first = batch[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([_array(sample, first) for sample in batch]))
    if isinstance(first, np.ndarray | np.generic):
        if isinstance(first, np.ndarray) and first.dtype.kind in "OUS":
            return list(batch)
        return Tensor(np.stack([np.asarray(sample) for sample in batch]))
    if isinstance(first, bool):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor(np.asarray(batch, dtype=DEFAULT_FLOAT))
    if isinstance(first, str | bytes) or first is None:
        return list(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
        return type(first)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(first, Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) != 1:
            raise ValueError(
                f"default_collate: the samples are sequences of different lengths {sorted(sizes)}"
            )
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__} (expected "
        "Tensors, ndarrays, numbers, strings or tuples/lists/dicts of them; a PIL image needs "
        "transforms.ToTensor())"
    )


def _array(sample: Any, first: Tensor) -> np.ndarray:
    if not isinstance(sample, Tensor) or sample.shape != first.shape:
        shape = getattr(sample, "shape", type(sample).__name__)
        raise ValueError(
            f"default_collate: cannot stack a sample of shape {shape} onto one of {first.shape}"
        )
    return sample.data
