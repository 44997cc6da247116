"""Synthetic CMS-like inventories and benchmarks (performance.md §5).

- :class:`InventoryGenerator` streams the rows of a seeded synthetic inventory of a
  :class:`Scale` (``SCALES``: xs, s, m, l); :func:`build_database` writes them into an empty
  database with the store's bulk insert (``dynamo bench generate``).
- :func:`measure_load` times the store's cold load and its peak RSS (``dynamo bench load``).
"""

from dynamo.bench.build import BuildObserver, BuildReport, NullObserver, build_database
from dynamo.bench.generator import REFERENCE_TIME, TABLE_ORDER, InventoryGenerator
from dynamo.bench.loadbench import LoadReport, measure_load, store_loader
from dynamo.bench.scales import SCALES, Scale, scale_named

__all__ = [
    "REFERENCE_TIME",
    "SCALES",
    "TABLE_ORDER",
    "BuildObserver",
    "BuildReport",
    "InventoryGenerator",
    "LoadReport",
    "NullObserver",
    "Scale",
    "build_database",
    "measure_load",
    "scale_named",
    "store_loader",
]
