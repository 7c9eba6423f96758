"""Checks of layer arguments at construction, so a degenerate layer names itself at once."""

from __future__ import annotations

from typing import Any

import numpy as np


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def count(value: Any, layer: str, name: str, minimum: int = 1) -> int:
    """`value` as an int of at least `minimum`, or a ValueError naming the layer and argument."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{layer}: {name} must be an int of at least {minimum}, got {value!r}")
    return int(value)


def sizes(value: Any, layer: str, name: str, minimum: int = 1) -> Any:
    """Check an int or a pair of ints, each at least `minimum`; `value` unchanged."""
    parts = (value,) if _is_int(value) else value
    if (
        not isinstance(parts, (tuple, list))
        or len(parts) not in (1, 2)
        or not all(_is_int(v) and v >= minimum for v in parts)
    ):
        raise ValueError(
            f"{layer}: {name} must be an int or a pair of ints, each at least {minimum}, "
            f"got {value!r}"
        )
    return value
