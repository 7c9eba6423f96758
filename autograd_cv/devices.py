"""Devices: where a tensor's array lives. This build has one backend, the CPU.

Everything device-shaped sits in this module (`device`, `cuda`, `backends`,
`accelerator`), so a GPU backend can slot in by teaching `resolve` a second device
and giving `Tensor.to` something to move to.
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
    """The device `where` names, if this build can put arrays there (only the CPU)."""
    target = where if isinstance(where, device) else device(where)
    if target.type != "cpu":
        raise RuntimeError(
            f"{op}: device '{target}' is not available: this build of autograd_cv has only the "
            "CPU backend (no GPU backend yet); use 'cpu'"
        )
    return target


def is_device(value: Any) -> bool:
    """True for a `device` or a string naming one ('cpu', 'cuda:0', ...)."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in _KNOWN_TYPES
    return False


class cuda:  # noqa: N801 - torch's module name
    """`torch.cuda`'s questions, answered for a CPU-only build."""

    @staticmethod
    def is_available() -> bool:
        """False: no CUDA backend in this build."""
        return False

    @staticmethod
    def device_count() -> int:
        """0: no CUDA devices are usable."""
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Nothing to seed without a GPU (accepted so seeding code runs)."""

    manual_seed_all = manual_seed


class accelerator:  # noqa: N801 - torch's module name
    """`torch.accelerator`: which accelerator the program should use (none here)."""

    @staticmethod
    def is_available() -> bool:
        """False until a GPU backend exists."""
        return False

    @staticmethod
    def current_accelerator() -> device | None:
        """None: there is no accelerator."""
        return None

    @staticmethod
    def device_count() -> int:
        """0 accelerators."""
        return 0


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
