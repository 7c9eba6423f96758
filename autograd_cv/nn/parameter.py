"""`Parameter`: a Tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and is registered when set on a Module."""

    # No extra slots: a Parameter is a Tensor with a different type, nothing more.
    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data)
        # Python lists of floats become float32, as for `ag.tensor`.
        if not isinstance(data, np.ndarray) and array.dtype == np.float64:
            array = array.astype(np.float32)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self.data, self.requires_grad))
