"""The pages in headless chromium: scripts load without errors, charts draw, htmx swaps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from detox_history_data import WrittenCycle
from dynamo.bench.serving import ThreadServer
from web_support import history_app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[WrittenCycle]]]:
    app, cycles = history_app(tmp_path)
    with ThreadServer(app) as base_url:
        yield base_url, cycles


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    yield opened
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def test_a_site_page_draws_its_occupancy_chart(
    served: tuple[str, list[WrittenCycle]], page: Page, tmp_path: Path
) -> None:
    base_url, cycles = served
    page.goto(f"{base_url}/sites/T2_US_MIT?partition=Physics")
    chart = page.locator("#occupancy-chart.drawn")
    expect(chart).to_have_attribute("data-points", str(len(cycles)))
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend")).to_contain_text("before")
    page.screenshot(path=tmp_path / "site.png")
    assert (tmp_path / "site.png").stat().st_size > 10_000


def test_picking_a_partition_swaps_the_sites_table(
    served: tuple[str, list[WrittenCycle]], page: Page
) -> None:
    base_url, _ = served
    page.goto(f"{base_url}/sites?partition=AnalysisOps")
    expect(page.locator("#sites-table")).to_have_attribute("data-partition", "AnalysisOps")
    page.select_option("select[name=partition]", "DataOpsDisk")
    expect(page.locator("#sites-table")).to_have_attribute("data-partition", "DataOpsDisk")
    expect(page.locator("#sites-table")).to_contain_text("25.0 %")
    assert page.url.endswith("/sites?partition=AnalysisOps")  # swapped in place


def test_decisions_load_and_filter_in_place(
    served: tuple[str, list[WrittenCycle]], page: Page
) -> None:
    base_url, cycles = served
    cycle = cycles[0]
    page.goto(f"{base_url}/detox/cycles/{cycle.id}")
    rows = page.locator("#decisions-table tbody tr")
    expect(rows).to_have_count(len(cycle.decisions))
    page.fill("input[name=site]", "T2_DE_DESY")
    wanted = sum(1 for d in cycle.decisions if d["site"] == "T2_DE_DESY")
    expect(rows).to_have_count(wanted)
    for text in rows.locator("td:first-child").all_inner_texts():
        assert text == "T2_DE_DESY"


def test_the_transfer_page_draws_its_throughput_chart(
    served: tuple[str, list[WrittenCycle]], page: Page
) -> None:
    base_url, _ = served
    page.goto(f"{base_url}/transfers")
    chart = page.locator("#throughput-chart.drawn")
    expect(chart).to_have_attribute("data-points", "25")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend")).to_contain_text("failed")
    page.click("text=Consistency")
    expect(page.locator("#consistency-sites tbody tr")).to_have_count(2)
