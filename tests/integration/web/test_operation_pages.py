"""The transfer and consistency pages over a real SQLite store."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from web_support import DEALER_REJECTION, HELD_REASON, HELD_RUN_REASON, history_app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = history_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        yield made


async def test_the_transfer_page_counts_charts_and_lists(client: httpx.AsyncClient) -> None:
    response = await client.get("/transfers")
    assert response.status_code == 200
    page = response.text
    labels = {
        label: int(value)
        for value, label in re.findall(
            r'<div class="value">([\d,]+)</div><div class="label">(\w+)</div>', page
        )
    }
    assert (labels["new"], labels["held"], labels["done"]) == (1, 1, 0)
    series = json.loads(
        re.search(r"data-series='([^']*)'", page).group(1).replace("&#34;", '"')  # type: ignore[union-attr]
    )
    assert len(series["t"]) == 25  # every hour of the last day, empty ones too
    assert sum(series["done"]) == 6
    assert sum(series["failed"]) == 1
    held = page.split('id="held"')[1].split("</table>")[0]
    assert HELD_REASON in held
    assert "EIO" in page.split('id="history"')[1]


async def test_the_deletion_page_is_the_same_for_deletions(client: httpx.AsyncClient) -> None:
    page = (await client.get("/transfers", params={"kind": "deletion"})).text
    assert "<h1>Deletions</h1>" in page
    assert "The queue is empty." in page


async def test_the_consistency_page_shows_each_sites_latest_run(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/consistency")).text
    rows = re.findall(r'<td><a href="/sites/([^"]+)">', page)
    assert rows == ["T1_US_FNAL_MSS", "T2_US_MIT"]
    assert html.escape(HELD_RUN_REASON) in page


async def test_a_consistency_run_lists_its_findings_by_kind(client: httpx.AsyncClient) -> None:
    page = (await client.get("/consistency")).text
    run_id = re.findall(r'href="/consistency/runs/(\d+)"', page)[0]  # the held one
    held = (await client.get(f"/consistency/runs/{run_id}")).text
    assert 'id="held-reason"' in held
    assert held.count("/store/dark/") == 3
    other = re.findall(r'href="/consistency/runs/(\d+)"', page)[1]
    missing = (await client.get(f"/consistency/runs/{other}", params={"kind": "missing"})).text
    assert "/store/mc/a.root" in missing
    assert "/store/mc/dark.root" not in missing
    absent = await client.get("/consistency/runs/999999")
    assert absent.status_code == 404


async def test_the_dealer_pages_show_cycles_and_proposals(client: httpx.AsyncClient) -> None:
    page = (await client.get("/dealer")).text
    cycle_id = re.findall(r'href="/dealer/cycles/(\d+)"', page)[0]
    assert "requests 1" in page
    cycle = (await client.get(f"/dealer/cycles/{cycle_id}")).text
    assert html.escape(DEALER_REJECTION) in cycle.split('id="rejections"')[1]
    assert "(request 12)" in cycle
    rejected = (await client.get(f"/dealer/cycles/{cycle_id}", params={"status": "rejected"})).text
    assert "/JetHT/Run2018D-PromptReco-v2/MINIAOD" in rejected
    assert "/ZeroBias/Run2018D-PromptReco-v2/AOD" not in rejected
    assert (await client.get("/dealer/cycles/999999")).status_code == 404
