"""Pausing Python's cyclic garbage collector while a cycle builds millions of objects.

A Detox cycle at CMS scale allocates millions of small acyclic objects (attribute entries,
decisions, deletions, history rows). Each allocation burst sets off the cyclic collector, whose
full collections walk everything alive and free nothing here: a quarter of the plan's time at
scale S, more at M. Reference counting still frees every object as usual; only reference cycles
wait until the collector is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; on the way out, enable it again if it
    was enabled on the way in (so nested pauses are harmless)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
