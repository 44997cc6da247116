"""The page content helpers: units, percentages, the usage rows, the chart columns."""

from __future__ import annotations

import math

import pytest

from doubles import toy_compiler
from dynamo.model import Inventory
from dynamo.store import CycleMode, SiteHistoryPoint
from dynamo.web.views import (
    PartitionUsage,
    chart_series,
    default_partition,
    human_bytes,
    percent,
    site_rows,
)
from unit.model.conftest import base_ops


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.00 kB"),
        (1_234_000_000_000, "1.23 TB"),
        (-2 * 10**15, "-2.00 PB"),
        (5 * 10**21, "5000.00 EB"),
    ],
)
def test_sizes_read_in_powers_of_1000(size: int | None, text: str) -> None:
    assert human_bytes(size) == text


@pytest.mark.parametrize(
    ("fraction", "text"), [(None, "-"), (0.0, "0.0 %"), (0.8734, "87.3 %"), (math.inf, "inf")]
)
def test_percentages(fraction: float | None, text: str) -> None:
    assert percent(fraction) == text


@pytest.mark.parametrize(("occupancy", "width"), [(0.5, 50.0), (1.4, 100.0), (math.inf, 100.0)])
def test_the_usage_bar_is_capped(occupancy: float, width: float) -> None:
    usage = PartitionUsage(
        partition="p", quota_bytes=1, used_bytes=1, projected_bytes=1, occupancy=occupancy
    )
    assert usage.bar_percent == width


def _inventory() -> Inventory:
    inventory = Inventory(partition_compiler=toy_compiler)
    inventory.apply(base_ops())
    return inventory


def test_site_rows_give_each_sites_share_of_a_superpartition() -> None:
    inventory = _inventory()
    assert default_partition(inventory) == "Physics"
    rows = {row.name: row for row in site_rows(inventory, "Physics")}
    mit = rows["T2_US_MIT"].usage
    assert mit is not None
    # Physics = AnalysisOps (2 TB) + DataOpsDisk (1 TB) + PhysicsTape (0): 1.25 TB present
    assert (mit.quota_bytes, mit.used_bytes) == (3 * 10**12, 125 * 10**10)
    assert mit.occupancy == pytest.approx(1.25 / 3)
    assert [(row.name, row.storage_type, row.status) for row in site_rows(inventory, None)] == [
        ("T1_US_FNAL_MSS", "MSS", "READY"),
        ("T2_US_MIT", "DISK", "READY"),
    ]
    assert all(row.usage is None for row in site_rows(inventory, "NoSuchPartition"))


def test_chart_columns_are_percent_with_gaps_for_infinite_occupancy() -> None:
    points = [
        SiteHistoryPoint(
            cycle_id=7,
            started=100,
            mode=CycleMode.RUN,
            quota_bytes=10,
            occupancy_before=0.934,
            occupancy_after=0.8412,
            deleted_bytes=1,
        ),
        SiteHistoryPoint(
            cycle_id=9,
            started=200,
            mode=CycleMode.TEST,
            quota_bytes=0,
            occupancy_before=None,
            occupancy_after=None,
            deleted_bytes=0,
        ),
    ]
    assert chart_series(points) == {
        "t": [100, 200],
        "before": [93.4, None],
        "after": [84.12, None],
        "cycles": [7, 9],
    }
