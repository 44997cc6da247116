"""The user-data page: the partition's health per site and overall, usage, datasets."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dynamo.web.pages import install_pages
from userdata_world import ALICE, API, DATASET, World, make_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path, quota=10_000):
        install_pages(made.app)
        yield made


def _rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


async def test_the_page_shows_health_usage_and_datasets(world: World) -> None:
    await world.inject("a", "T2_US_MIT", size=7_600)
    await world.inject("b", "T2_DE_DESY", size=5_000)
    await world.client.post(f"{API}/complete", json={"dataset": DATASET}, headers=ALICE)
    page = (await world.client.get("/userdata")).text
    assert 'aria-current="page">User data' in page
    health = re.search(r'<p id="userdata-health">(.*?)</p>', page, re.S)
    assert health is not None
    assert "12.60 kB of\n20.00 kB" in health.group(1)
    assert 'level-warn">warn' in health.group(1)  # 63 % of the partition
    sites = {row[0]: row[1:] for row in _rows(page, "userdata-sites")}
    assert sites["T2_US_MIT"][2:] == ["76.0 %", "alarm"]
    assert sites["T2_DE_DESY"][2:] == ["50.0 %", "ok"]
    assert _rows(page, "userdata-usage") == [
        ["alice", "T2_DE_DESY", "1", "5.00 kB"],
        ["alice", "T2_US_MIT", "1", "7.60 kB"],
    ]
    [dataset] = _rows(page, "userdata-datasets")
    assert dataset[:5] == [DATASET, "alice", "complete", "2", "2"]
    assert dataset[6] == "T2_DE_DESY, T2_US_MIT"
