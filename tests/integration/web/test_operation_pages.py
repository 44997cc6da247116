"""The transfer and consistency pages over a real SQLite store."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from unit.model.conftest import DATASET
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


async def test_the_requests_page_lists_requests_with_their_status(
    client: httpx.AsyncClient,
) -> None:
    alice = {"X-Test-DN": "/CN=alice", "X-Test-Grants": "user:registry"}
    body = {"items": [DATASET], "sites": ["T2_US_MIT"], "group": "AnalysisOps"}
    made = await client.post("/api/v1/requests/copy", json=body, headers=alice)
    assert made.status_code in (200, 201), made.text
    page = (await client.get("/requests")).text
    row = re.search(r'<table id="requests-table">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert row is not None
    assert f'href="/api/v1/requests/{made.json()["id"]}"' in row.group(1)
    assert DATASET in row.group(1)
    assert '<span class="status new"' in row.group(1)
    deletions = (await client.get("/requests?kind=deletion")).text
    assert DATASET not in deletions
    assert "No request of this kind and status." in deletions
    assert (await client.get("/requests?status=nonsense")).status_code == 400


@pytest.mark.parametrize(
    ("path", "seconds"),
    [("/", 5), ("/transfers", 5), ("/dealer", 5), ("/consistency", 5), ("/requests", 5)],
)
async def test_live_pages_poll_their_own_url_for_their_live_region(
    client: httpx.AsyncClient, path: str, seconds: int
) -> None:
    page = (await client.get(path)).text
    live = re.search(r'<div id="live"[^>]*>', page)
    assert live is not None
    assert f'hx-trigger="every {seconds}s"' in live.group(0)
    assert f'hx-get="{path}"' in live.group(0)
    assert 'hx-select="#live"' in live.group(0)


async def test_a_page_with_inputs_is_not_replaced_under_the_user(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/sites")).text
    assert 'id="live"' not in page
