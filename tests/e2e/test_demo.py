"""`dynamo demo` end to end, as a user runs it: the command in a process of its own, then the
pages in headless chromium while it runs, then its JSON summary when its duration is over.

Within the demo's first minutes Detox must bring the over-full site under its low watermark,
transfers must complete, consistency must repair the planted missing file and delete the
planted orphan; every page must render real data without console errors, charts must draw and
pages must update without a reload. Screenshots of the main pages are written to
``$DYNAMO_TEST_ARTIFACTS/demo`` (default ``var/test-artifacts/demo``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from contract.storage.storage_servers import free_port

DURATION = 150
"""Seconds the demo runs: its events (about a minute) plus the browser checks, with room."""
EVENTS_WITHIN = 120
"""Seconds from the command in which the events must have happened (the issue's two minutes;
on an idle machine the last comes after about 50 s)."""
ARTIFACTS = Path(os.environ.get("DYNAMO_TEST_ARTIFACTS", "var/test-artifacts")) / "demo"
PAGES = {
    "overview": "/",
    "sites": "/sites",
    "detox": "/detox",
    "dealer": "/dealer",
    "transfers": "/transfers",
    "deletions": "/transfers?kind=deletion",
    "consistency": "/consistency",
    "requests": "/requests",
    "userdata": "/userdata",
}


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def _wait(
    what: str, check: Callable[[], bool], deadline: float, demo: subprocess.Popen[str]
) -> None:
    while time.monotonic() < deadline:
        assert demo.poll() is None, f"the demo stopped early while waiting for {what}"
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass  # a table not written yet, or the database busy
        time.sleep(1)
    raise AssertionError(f"the demo did not show {what} within {EVENTS_WITHIN} s")


def _events(db: Path, demo: subprocess.Popen[str], started: float) -> dict[str, float]:
    """Wait for each acceptance event; returns the seconds each took."""
    deadline = started + EVENTS_WITHIN
    full_site = json.loads((db.parent / "grid.json").read_text())
    full = next(site for site, role in full_site["sites"].items() if role == "full")
    checks: dict[str, Callable[[], bool]] = {
        "detox brings the full site under 85 %": lambda: bool(
            _query(
                db,
                "SELECT 1 FROM detox_cycle_sites s JOIN detox_cycles c ON c.id = s.cycle_id "
                f"WHERE c.status = 'committed' AND s.site = '{full}' AND s.triggered "
                "AND s.occupancy_after <= 0.85",
            )
        ),
        "replicas deleted on storage": lambda: bool(
            _query(db, "SELECT 1 FROM replica_deletions WHERE status = 'done'")
        ),
        "dealer places copies": lambda: bool(
            _query(db, "SELECT 1 FROM dealer_copies WHERE status = 'accepted'")
        ),
        "transfers complete": lambda: bool(
            _query(
                db,
                "SELECT 1 FROM fileop_history WHERE kind = 'transfer' AND status = 'done' "
                "AND origin <> 'demo'",
            )
        ),
        "consistency repairs the missing file": lambda: bool(
            _query(
                db,
                "SELECT 1 FROM fileop_history WHERE origin = 'consistency' AND status = 'done'",
            )
        ),
        "user data registered": lambda: bool(
            _query(db, "SELECT 1 FROM userdata_datasets WHERE completed IS NOT NULL")
        ),
        "consistency deletes the orphan": lambda: bool(
            _query(
                db,
                "SELECT 1 FROM consistency_files WHERE kind = 'orphan' AND action = 'delete'",
            )
        ),
    }
    took = {}
    for what, check in checks.items():
        _wait(what, check, deadline, demo)
        took[what] = round(time.monotonic() - started, 1)
    return took


def _visit(page: Page, url: str, name: str) -> None:
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 200, f"{url}: {answer.status}"
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def _check_pages(browser: Browser, base: str, grid: dict[str, object]) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        for name, path in PAGES.items():
            _visit(page, base + path, name)
        sites = grid["sites"]
        assert isinstance(sites, dict)
        full = next(site for site, role in sites.items() if role == "full")
        # a site's page: the occupancy chart over the Detox cycles is drawn
        _visit(page, f"{base}/sites/{full}?partition=Physics", "site")
        chart = page.locator("#occupancy-chart.drawn")
        expect(chart.locator("canvas")).to_have_count(1)
        assert int(chart.get_attribute("data-points") or 0) >= 1
        # navigation: from the Detox page to its latest cycle and its decisions
        _visit(page, f"{base}/detox", "detox")
        page.locator("a[href^='/detox/cycles/']").first.click()
        expect(page.locator("#decisions-table tbody tr").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / "detox_cycle.png", full_page=True)
        # the transfers page draws its throughput chart
        _visit(page, f"{base}/transfers", "transfers")
        expect(page.locator("#throughput-chart.drawn canvas")).to_have_count(1)
        # the requests page shows the demo physicist's request
        _visit(page, f"{base}/requests", "requests")
        expect(page.locator("#requests-table")).to_contain_text("demo-physicist")
        # the user-data page shows alice's dataset and the partition's health per site
        _visit(page, f"{base}/userdata", "userdata")
        expect(page.locator("main")).to_contain_text("/DemoAnalysis/alice-ntuples/USER")
        # the overview updates itself: its live region is replaced without a reload
        _visit(page, f"{base}/", "overview")
        page.evaluate("document.getElementById('live').dataset.seen = 'old'")
        page.wait_for_function(
            "document.getElementById('live') && !document.getElementById('live').dataset.seen",
            timeout=20_000,
        )
        assert page.url == f"{base}/"
    finally:
        context.close()
    assert errors == [], f"the pages logged errors: {errors}"


def test_the_demo_shows_every_component_at_work_and_sums_up(
    browser: Browser, tmp_path: Path
) -> None:
    port = free_port()
    directory = tmp_path / "demo"
    log = (tmp_path / "demo.log").open("w")
    started = time.monotonic()
    demo = subprocess.Popen(
        [
            *(sys.executable, "-m", "dynamo", "demo", "--dir", str(directory)),
            *("--port", str(port), "--duration", str(DURATION), "--json"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        db = directory / "dynamo.sqlite"
        _wait("the grid", lambda: (directory / "grid.json").exists(), started + 120, demo)
        took = _events(db, demo, started)
        print(f"seconds from the command to each event: {took}")
        grid = json.loads((directory / "grid.json").read_text())
        _check_pages(browser, f"http://127.0.0.1:{port}", grid)
        out, _ = demo.communicate(timeout=DURATION + 120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        log.close()
    assert demo.returncode == 0, (tmp_path / "demo.log").read_text()[-3000:]
    summary = json.loads(out)
    assert summary["deleted_replicas"] > 0
    assert summary["completed_transfers"] > 0
    assert summary["repaired_files"] >= 1
    assert summary["deleted_orphans"] >= 1
    assert summary["placed_copies"] > 0
    assert summary["jobs_run"] > 0
    assert summary["user_datasets"] == 1
    assert summary["user_datasets_consolidated"] == 1  # by the leader's user-data pass
    [full] = [s for s in summary["sites"] if s["site"] == grid_full(directory)]
    assert full["occupancy_after"] <= 0.85
    _resumed_demo_writes_a_new_user_dataset(directory, port, tmp_path)


def _resumed_demo_writes_a_new_user_dataset(directory: Path, port: int, tmp_path: Path) -> None:
    """Run the demo again on the same grid: alice's first dataset is complete, so her jobs
    write (and the demo counts) a new one instead of stopping on a refusal."""
    resumed = subprocess.run(
        [
            *(sys.executable, "-m", "dynamo", "demo", "--dir", str(directory)),
            *("--port", str(port), "--duration", "30", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    (tmp_path / "demo-resumed.log").write_text(resumed.stderr)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming the grid" in resumed.stderr
    assert "user jobs stopped" not in resumed.stderr, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["user_datasets"] == 1
    names = {row[0] for row in _query(directory / "dynamo.sqlite", "SELECT name FROM datasets")}
    assert {"/DemoAnalysis/alice-ntuples/USER", "/DemoAnalysis/alice-ntuples2/USER"} <= names


def grid_full(directory: Path) -> str:
    sites = json.loads((directory / "grid.json").read_text())["sites"]
    return next(site for site, role in sites.items() if role == "full")
