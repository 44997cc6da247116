"""/healthz, /readyz, /metrics and the request id, over a real SQLite store with history."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from web_support import history_app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = history_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        made.app = app  # type: ignore[attr-defined]
        yield made


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_readiness_fails_with_a_reason_when_the_database_is_gone(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    service.store.engine.dispose()
    (tmp_path / "pages.sqlite").rename(tmp_path / "elsewhere")
    (tmp_path / "pages.sqlite").mkdir()  # a directory: SQLite cannot open it
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert "database" in answer.json()["reason"]
    assert (await client.get("/healthz")).status_code == 200


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, value = line.rsplit(" ", 1)
        found[name] = float(value)
    return found


async def test_metrics_count_requests_and_describe_the_system(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.get("/api/v1/status")).status_code == 200
    assert (await client.get("/api/v1/datasets/nothing-like-this")).status_code in (400, 404)
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(answer.text)
    status = 'dynamo_api_requests_total{method="GET",route="/api/v1/status",status="200"}'
    assert samples[status] == 3
    count = 'dynamo_api_request_seconds_count{method="GET",route="/api/v1/status"}'
    assert samples[count] == 3
    inf = 'dynamo_api_request_seconds_bucket{method="GET",route="/api/v1/status",le="+Inf"}'
    assert samples[inf] == 3
    assert samples['dynamo_inventory_objects{kind="sites"}'] == 2
    assert samples["dynamo_database_up"] == 1
    assert 'dynamo_fileops_subscriptions{kind="transfer",status="held"}' in samples
    assert "dynamo_detox_last_cycle_seconds" in samples
    assert "dynamo_dealer_last_cycle_id" in samples
    assert any(name.startswith("dynamo_fileops_files_per_second") for name in samples)
    # every sample line is valid exposition format
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            labels = r'\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\}'
            assert re.fullmatch(rf"[a-z_]+(?:{labels})? -?[0-9.e+]+", line), line


async def test_every_answer_has_a_request_id_and_a_log_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dynamo.api.access"):
        given = await client.get("/api/v1/status", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/api/v1/status", headers={"X-Request-ID": "bad id\n"})
    assert given.headers["X-Request-ID"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    records = [r for r in caplog.records if r.name == "dynamo.api.access"]
    assert [getattr(r, "request_id", None) for r in records] == [
        "abc-123",
        made.headers["X-Request-ID"],
    ]
    assert all(getattr(r, "route", None) == "/api/v1/status" for r in records)
    assert all(getattr(r, "status", None) == 200 for r in records)
    assert all(r.getMessage().startswith(f"{r.client} GET /api/v1/status 200 ") for r in records)
    assert all(re.fullmatch(r"[0-9a-f.:]+:[0-9]+", getattr(r, "client", "")) for r in records)
