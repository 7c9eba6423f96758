"""One global clock for the graph: node creation and in-place writes both take a tick.

A node created at tick t saw its inputs as they were then; an input whose last in-place
write has a later tick was changed under it, and the backward driver refuses to use it.
"""

from __future__ import annotations

import itertools

_ticks = itertools.count(1)


def tick() -> int:
    """Advance the clock and return the new time."""
    return next(_ticks)
