"""Array backends: the array module and the kernels that serve each device.

A tensor's `.data` is an array of one backend: a `numpy.ndarray` on the CPU, a
`cupy.ndarray` on an NVIDIA GPU. Op forwards and vjps are written once against NumPy's
API; NumPy hands its functions and ufuncs to CuPy for CuPy arrays (`__array_function__`,
`__array_ufunc__`), so only what NumPy cannot dispatch goes through here: creating arrays
(`array_module(x).zeros(...)`), scatter-adds (`add_at`), moving arrays between devices, and
the kernels (`kernels_for(x).conv2d_forward(...)`: Numba on the CPU, CUDA C + cuBLAS on
the GPU).

The CPU backend is always there. The CUDA backend is loaded the first time someone asks
for the device (`ag.cuda.is_available()`, `.to("cuda")`), so `import autograd_cv` never
imports CuPy. Tests register a fake device through `register` to check the plumbing on
machines without a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from autograd_cv.devices import device


class Backend:
    """One device type's arrays: their class, their module and their kernels."""

    #: the device type it serves ("cpu", "cuda", ...)
    name: str = "cpu"
    #: the array class whose instances live on this backend
    array_type: type = np.ndarray
    #: its arrays keep NumPy's `.base`, `.flags` and reference semantics, so a gradient
    #: nothing else holds may become a leaf's `.grad` without a copy
    numpy_views: bool = False

    def __init__(self, xp: ModuleType, kernels: Any) -> None:
        #: NumPy's API for this backend's arrays (numpy, cupy)
        self.xp = xp
        #: conv2d_forward, max_pool2d_forward, batch_norm_forward, ... on this backend's arrays
        self.kernels = kernels

    def device_of(self, array: Any) -> device:
        """The device an array of this backend lives on."""
        return device(self.name)

    def to_host(self, array: Any) -> np.ndarray:
        """A NumPy copy (or the array itself on the CPU)."""
        return np.asarray(array)

    def from_host(self, array: np.ndarray, index: int | None = None) -> Any:
        """`array` placed on this backend's device `index`."""
        return array

    def add_at(self, target: Any, index: Any, values: Any) -> None:
        """`target[index] += values`, adding repeated indices up (NumPy's `add.at`)."""
        np.add.at(target, index, values)

    def synchronize(self) -> None:
        """Wait until the device has finished the work queued so far (nothing on the CPU)."""

    def device_count(self) -> int:
        """How many devices of this type there are."""
        return 1


class CpuBackend(Backend):
    """NumPy arrays and the Numba CPU kernels."""

    numpy_views = True


def _cpu_kernels() -> Any:
    from autograd_cv import kernels

    return kernels


CPU = CpuBackend(np, None)
_by_type: dict[type, Backend] = {np.ndarray: CPU}
_by_name: dict[str, Backend] = {"cpu": CPU}
#: device type -> a function that builds its backend, or raises with the reason it cannot
_loaders: dict[str, Callable[[], Backend]] = {}
#: device type -> why it could not be loaded (one line), remembered after the first try
_unavailable: dict[str, str] = {}


def register(backend: Backend) -> None:
    """Make a backend's device usable (`.to(name)`, `device=name`)."""
    _by_type[backend.array_type] = backend
    _by_name[backend.name] = backend
    _unavailable.pop(backend.name, None)


def unregister(name: str) -> None:
    """Remove a registered backend (tests use this to take a fake device away)."""
    backend = _by_name.pop(name, None)
    if backend is not None:
        _by_type.pop(backend.array_type, None)


def add_loader(name: str, loader: Callable[[], Backend]) -> None:
    """Build `name`'s backend with `loader` the first time the device is asked for."""
    _loaders[name] = loader


def backend_of(array: Any) -> Backend:
    """The backend an array belongs to (NumPy scalars and arrays: the CPU)."""
    kind = type(array)
    if kind is np.ndarray:
        return CPU
    found = _by_type.get(kind)
    if found is not None:
        return found
    for base in kind.__mro__[1:]:
        found = _by_type.get(base)
        if found is not None:
            return found
    return CPU


def is_array(value: Any) -> bool:
    """True for an array of any registered backend (ndarray, cupy.ndarray, ...)."""
    kind = type(value)
    return kind is np.ndarray or kind in _by_type or isinstance(value, np.ndarray)


def array_module(value: Any) -> ModuleType:
    """NumPy's API for `value`'s backend: `numpy`, or `cupy` for CuPy arrays."""
    return backend_of(value).xp


def kernels_for(value: Any) -> Any:
    """The kernel table of `value`'s backend (conv, pooling, batch norm)."""
    backend = backend_of(value)
    if backend is CPU:
        return CPU.kernels or _load_cpu_kernels()
    return backend.kernels


def _load_cpu_kernels() -> Any:
    CPU.kernels = _cpu_kernels()
    return CPU.kernels


def device_of(value: Any) -> device:
    """The device `value` (an array of any backend) lives on."""
    return backend_of(value).device_of(value)


def backend_for(where: device, op: str) -> Backend:
    """The backend serving device `where`; loads it on first use, or says why it cannot."""
    found = _by_name.get(where.type)
    if found is not None:
        return found
    reason = _unavailable.get(where.type)
    if reason is None:
        loader = _loaders.get(where.type)
        if loader is None:
            reason = f"autograd_cv has no backend for '{where.type}' devices"
        else:
            try:
                register(loader())
                return _by_name[where.type]
            except (ImportError, RuntimeError, OSError) as error:
                reason = " ".join(str(error).split()) or type(error).__name__
        _unavailable[where.type] = reason
    raise RuntimeError(f"{op}: device '{where}' is not available: {reason}")


def available(name: str) -> bool:
    """True when device type `name` has a working backend (loading it if need be)."""
    try:
        backend_for(device(name), "available")
    except RuntimeError:
        return False
    return True


def unavailable_reason(name: str) -> str | None:
    """Why device type `name` is not available (None when it is, or was never asked for)."""
    return _unavailable.get(name)


def to_device(array: Any, where: device) -> Any:
    """`array` on device `where` (the same array when it is already there)."""
    source = backend_of(array)
    target = backend_for(where, "to")
    if source is target and source.device_of(array) == _with_index(where, source, array):
        return array
    host = source.to_host(array)
    return target.from_host(host, where.index)


def _with_index(where: device, backend: Backend, array: Any) -> device:
    """`where` with the array's own index filled in when `where` names none ('cuda')."""
    if where.index is None:
        return backend.device_of(array)
    return where


def to_host(value: Any) -> np.ndarray:
    """`value` as a NumPy array (copied from a device if need be)."""
    return backend_of(value).to_host(value)


def synchronize(value: Any = None) -> None:
    """Wait for queued device work: of `value`'s backend, or of every loaded backend."""
    if value is not None:
        backend_of(value).synchronize()
        return
    for backend in list(_by_name.values()):
        backend.synchronize()


def _load_cuda() -> Backend:
    # Imported here, not at the top: this is the only road to CuPy, taken on first use.
    from autograd_cv.kernels.cuda import load_backend

    return load_backend()


add_loader("cuda", _load_cuda)
