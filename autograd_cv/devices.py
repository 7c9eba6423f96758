"""Devices: where a tensor's array lives, and torch's questions about them.

`device` names a place; `autograd_cv/backend.py` holds the arrays and kernels that serve
each one (NumPy on the CPU, CuPy on NVIDIA GPUs, loaded on first use). `cuda`,
`backends` and `accelerator` answer torch's questions from what that module could load.
"""

from __future__ import annotations

from typing import Any

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu")


class device:  # noqa: N801 - torch's name
    """A device name, as torch.device: `device("cpu")`, `device("cuda:0")`, `device("cuda", 0)`."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in _KNOWN_TYPES:
            raise ValueError(
                f"device: unknown device type {name!r}; expected one of {', '.join(_KNOWN_TYPES)}"
            )
        if number:
            if index is not None or not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(number)
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("device is immutable")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = device("cpu")


def resolve(where: Any, op: str) -> device:
    """The device `where` names, if arrays can be put there; else one line saying why not."""
    from autograd_cv.backend import backend_for

    target = where if isinstance(where, device) else device(where)
    if target.type != "cpu":
        backend_for(target, op)
    return target


def is_device(value: Any) -> bool:
    """True for a `device` or a string naming one ('cpu', 'cuda:0', ...)."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in _KNOWN_TYPES
    return False


class cuda:  # noqa: N801 - torch's module name
    """`torch.cuda`'s questions: answered by loading the CUDA backend (CuPy) when first asked."""

    @staticmethod
    def is_available() -> bool:
        """True when CuPy and a GPU are both there."""
        from autograd_cv.backend import available

        return available("cuda")

    @staticmethod
    def why_unavailable() -> str | None:
        """One line saying why CUDA is not available (None when it is)."""
        from autograd_cv.backend import unavailable_reason

        return None if cuda.is_available() else unavailable_reason("cuda")

    @staticmethod
    def device_count() -> int:
        """Number of usable CUDA devices (0 without the backend)."""
        if not cuda.is_available():
            return 0
        from autograd_cv.backend import backend_for

        return backend_for(device("cuda"), "device_count").device_count()

    @staticmethod
    def synchronize() -> None:
        """Wait until the GPU has finished all queued work (nothing without one)."""
        if cuda.is_available():
            from autograd_cv.backend import backend_for

            backend_for(device("cuda"), "synchronize").synchronize()

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Accepted so seeding code runs: device-side random draws come from `ag.manual_seed`."""

    manual_seed_all = manual_seed


class accelerator:  # noqa: N801 - torch's module name
    """`torch.accelerator`: which accelerator the program should use (CUDA, when there is one)."""

    @staticmethod
    def is_available() -> bool:
        """True when a CUDA GPU is usable."""
        return cuda.is_available()

    @staticmethod
    def current_accelerator() -> device | None:
        """`device('cuda')` when a GPU is usable, else None."""
        return device("cuda") if cuda.is_available() else None

    @staticmethod
    def device_count() -> int:
        """Number of usable GPUs."""
        return cuda.device_count()


def pick(name: str) -> device:
    """`auto` (the GPU when there is one, else the CPU), `cpu` or `cuda`, as a usable device."""
    if name == "auto":
        return device("cuda") if cuda.is_available() else CPU
    return resolve(name, "device")


class _Unavailable:
    """A backend namespace (`backends.mps`) that reports itself unavailable."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_available(self) -> bool:
        """False: this backend is not in this build."""
        return False

    def is_built(self) -> bool:
        """False: this backend is not in this build."""
        return False


class backends:  # noqa: N801 - torch's module name
    """`torch.backends`: mps and cudnn, both absent; cudnn's flags are accepted and ignored."""

    mps = _Unavailable("mps")

    class cudnn:  # noqa: N801
        """cuDNN switches programs set; they change nothing on the CPU."""

        enabled = False
        benchmark = False
        deterministic = False

        @staticmethod
        def is_available() -> bool:
            """False: no cuDNN."""
            return False
