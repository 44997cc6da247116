"""Access records on real CMS dataset names, shared by the popularity tests."""

from __future__ import annotations

from pathlib import Path

from dynamo.store.popularity import DAY, AccessRecord

FIXTURES = Path(__file__).parent / "fixtures"
DATASET_NAMES = (FIXTURES / "cms" / "dynamo-policies" / "dataset_names.txt").read_text().split()
AOD, MINIAOD, RAW = (
    next(name for name in DATASET_NAMES if name.endswith(tier))
    for tier in ("/AOD", "/MINIAOD", "/RAW")
)
SITES = ("T2_US_MIT", "T1_US_FNAL_Disk", "T2_CH_CERN", "T2_DE_DESY")
TODAY = 1_581_552_000
"""2020-02-13T00:00:00Z, the generator's reference time (a UTC midnight)."""


def days_ago(n: int) -> int:
    return TODAY - n * DAY


def access(
    dataset: str = AOD,
    site: str = SITES[0],
    ago: int = 0,
    count: int = 1,
    cpu_hours: float = 0.0,
) -> AccessRecord:
    return AccessRecord(dataset, site, days_ago(ago), count, cpu_hours)
