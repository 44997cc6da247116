"""The pages over a real SQLite store: what each shows, the htmx fragments, and the 404s."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from detox_history_data import WrittenCycle
from web_support import history_app


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, list[WrittenCycle]]]:
    app, cycles = history_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, cycles


async def _html(client: httpx.AsyncClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_the_overview_shows_the_counts_and_the_latest_cycle(setup: tuple) -> None:
    client, cycles = setup
    page = await _html(client, "/")
    assert re.search(r'<div class="value">2</div><div class="label">sites</div>', page)
    # the newest cycle of Physics is the test run, linked
    assert f'href="/detox/cycles/{cycles[-1].id}"' in page
    assert "AnalysisOps" in page
    assert "PhysicsTape" in page


async def test_the_sites_page_shows_each_sites_share_of_the_partition(setup: tuple) -> None:
    client, _ = setup
    page = await _html(client, "/sites?partition=AnalysisOps")
    row = re.search(r"<tr>\s*<td><a href=\"/sites/T2_US_MIT[^<]*</a></td>(.*?)</tr>", page, re.S)
    assert row is not None
    # 1 TB of AnalysisOps data on a 2 TB quota
    assert "2.00 TB" in row.group(1)
    assert "1.00 TB" in row.group(1)
    assert "50.0 %" in row.group(1)


async def test_the_partition_picker_swaps_only_the_table(setup: tuple) -> None:
    client, _ = setup
    fragment = await _html(client, "/sites/table?partition=DataOpsDisk")
    assert fragment.lstrip().startswith('<table id="sites-table" data-partition="DataOpsDisk"')
    assert "<header>" not in fragment
    assert "25.0 %" in fragment  # 0.25 TB present of the 1 TB DataOpsDisk quota


async def test_a_site_page_charts_its_occupancy_over_the_cycles(setup: tuple) -> None:
    client, cycles = setup
    page = await _html(client, "/sites/T2_US_MIT?partition=Physics")
    found = re.search(r"data-series='([^']*)'", page)
    assert found is not None
    series = json.loads(found.group(1).replace("&#34;", '"'))
    assert series["cycles"] == [c.id for c in cycles]
    expected = [
        round(100 * next(s for s in c.sites if s["site"] == "T2_US_MIT")["occupancy_before"], 2)
        for c in cycles
    ]
    assert series["before"] == expected


async def test_a_site_without_history_says_so(setup: tuple) -> None:
    client, _ = setup
    page = await _html(client, "/sites/T1_US_FNAL_MSS")
    assert 'id="no-history"' in page


async def test_the_cycle_page_totals_its_sites(setup: tuple) -> None:
    client, cycles = setup
    cycle = cycles[0]
    page = await _html(client, f"/detox/cycles/{cycle.id}")
    for site in cycle.sites:
        assert f">{site['site']}</a></td>" in page
    triggered = sum(1 for s in cycle.sites if s["triggered"])
    assert f'<div class="value">{triggered} / {len(cycle.sites)}</div>' in page


async def test_decisions_come_with_their_policy_line_and_filter_by_site(setup: tuple) -> None:
    client, cycles = setup
    cycle = cycles[1]
    fragment = await _html(client, f"/detox/cycles/{cycle.id}/decisions?site=T2_US_MIT")
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td><td class=\"name\">([^<]+)</td>", fragment)
    expected = [(d["site"], d["dataset"]) for d in cycle.decisions if d["site"] == "T2_US_MIT"]
    assert rows == expected
    assert "Physics" not in fragment.split("<table")[0]  # a fragment, not a page
    first = next(d for d in cycle.decisions if d["site"] == "T2_US_MIT")
    if first["line_id"] >= 0:
        line = next(x for x in cycle.lines if x["line_id"] == first["line_id"])
        assert f"{line['line_number']}: <code>" in fragment


async def test_the_cycles_list_pages_newest_first(setup: tuple) -> None:
    client, cycles = setup
    page = await _html(client, "/detox")
    ids = [int(x) for x in re.findall(r'href="/detox/cycles/(\d+)"', page)]
    assert ids == sorted((c.id for c in cycles), reverse=True)


@pytest.mark.parametrize(
    "path", ["/sites/T9_XX_Nowhere", "/detox/cycles/999999", "/detox/cycles/999999/decisions"]
)
async def test_unknown_objects_get_a_404_page(setup: tuple, path: str) -> None:
    client, _ = setup
    page = await _html(client, path, status=404)
    assert "There is no" in page


async def test_the_vendored_scripts_are_served_with_their_licenses(setup: tuple) -> None:
    client, _ = setup
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/uPlot.iife.min.js"):
        response = await client.get(path)
        assert response.status_code == 200
        assert len(response.content) > 10_000
    license_ = await client.get("/static/vendor/LICENSE.uplot.txt")
    assert "MIT" in license_.text


async def test_a_cycle_page_offers_its_decisions_for_download(setup: tuple) -> None:
    client, cycles = setup
    cycle = cycles[0]
    page = await _html(client, f"/detox/cycles/{cycle.id}")
    link = re.search(r'<a id="download-decisions" href="([^"]+)"', page)
    assert link is not None
    download = await client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert len(lines) == len(cycle.decisions)
