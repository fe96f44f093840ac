"""The monthly "ward to board" report (`/dashboard/report`, issue 16 item 5) in headless
Chromium, on the simulated month of four wards (`tests.wallboard.dashboard_month`): reached
from the dashboard page's link, drawn under the strict CSP (no console error, no CSP
violation), printed to PDF on A4 (Chrome DevTools `Page.printToPDF`, through Playwright) with a
page per measure. The screenshot at 1920 × 1080 is written to `docs/report-1920.png` (the
README's), the full page, the print view and the PDF to `$SURVEILLANCE_ARTIFACTS/screenshots/`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from scoring import LONDON
from surveillance import StoreHistory, dashboard_report
from surveillance.dashboard import MEASURE_IDS
from surveillance.store import open_store
from tests import ROOT
from tests.wallboard.dashboard_month import month
from tests.wallboard.test_browser import (
    _CSP_WATCH,
    ARTIFACTS,
    CHROMIUM,
    WALL,
    Pages,
    browser,  # noqa: F401  (the module's Chromium)
    playwright,  # noqa: F401
)
from tests.wallboard.test_dashboard_browser import WINDOW, DashboardServer, ready
from wallboard import Auth, BrokerFeed, create_app, serve

CLOCK = datetime(2026, 12, 1, 9, tzinfo=UTC)  # the month is over: the report is final
TARGETS = {"obs_on_time": 85.0, "sepsis_treated_1h": 90.0, "fall_per_1000_bed_days": 5.0}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
)


class ReportServer(DashboardServer):
    """The dashboard's server, with the monthly report and targets, as the service wires them."""

    async def _main(self) -> None:
        import asyncio  # noqa: PLC0415 (the loop of this server's own thread)

        self.stop_event = asyncio.Event()
        history = StoreHistory(LONDON, clock=lambda: CLOCK)
        history.targets = dict(TARGETS)
        async with open_store(self.url_of_store) as store:
            await store.write(month().batch)
            history.store = store
            app = create_app(
                BrokerFeed("127.0.0.1", 1),
                auth=Auth.without_login("none"),
                history=history,
                dashboard=history.dashboard,
                monthly_report=functools.partial(dashboard_report, history),
            )
            server = asyncio.create_task(serve(app, "127.0.0.1", self.port))
            await asyncio.sleep(0.3)
            self.ready.set()
            await self.stop_event.wait()
            server.cancel()
            with pytest.raises(asyncio.CancelledError):
                await server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportServer]:
    running = ReportServer(tmp_path_factory.mktemp("report") / "store.db")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pages(browser: Browser, server: ReportServer) -> Iterator[Pages]:  # noqa: F811
    context = browser.new_context(viewport=WALL, locale="en-GB", timezone_id="Europe/London")
    context.add_init_script(_CSP_WATCH)
    opened = Pages(context, server.url)
    try:
        yield opened
    finally:
        context.close()
    assert opened.errors == [], "errors in the browser:\n" + "\n".join(opened.errors)


def test_the_ward_report_from_the_dashboard_link_on_screen_and_on_a4(pages: Pages) -> None:
    dashboard = ready(pages, f"/dashboard?ward=7A&period=week&{WINDOW}")
    # the settings' target on the dashboard page too: the dash-dot line and assurance in words
    block = dashboard.locator("#m-obs_on_time")
    expect(block.locator("svg.spc line.target")).to_have_count(1)
    expect(block.locator(".dash-icon").nth(1)).to_contain_text("(85)")
    expect(dashboard.locator("#m-ack_minutes .dash-icon").nth(1)).to_have_text("No target set")
    link = dashboard.locator("#report")
    expect(link).to_have_attribute("href", "/dashboard/report?ward=7A&month=2026-11")
    expect(link).to_have_text("Monthly report, November 2026")
    link.click()
    page = dashboard
    page.wait_for_url(re.compile(r"/dashboard/report\?ward=7A&month=2026-11$"))
    expect(page.locator("h1")).to_have_text("Ward 7A · November 2026")
    expect(page.locator(".facts")).to_contain_text("final: the month is over")
    # the stylesheet applied (a linked file: the CSP allows no inline style)
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "1240px"
    expect(page.locator(".overview-table tbody tr")).to_have_count(len(MEASURE_IDS))
    expect(page.locator("section.measure")).to_have_count(len(MEASURE_IDS))
    expect(page.locator("section.measure svg.spc")).to_have_count(len(MEASURE_IDS))
    expect(page.locator(".harms-table tbody tr")).to_have_count(5)
    # 7A's slip in its last ten days: concern points, triangles, with words
    on_time = page.locator("#m-obs_on_time")
    concern = on_time.locator("svg.spc .pt-concern")
    assert concern.count() > 0
    assert concern.first.evaluate("n => n.tagName") == "path"
    expect(concern.first.locator("title")).to_contain_text("special cause — concern")
    # the target from the settings: the dash-dot line and the assurance icon in words
    expect(on_time.locator("svg.spc line.target")).to_have_count(1)
    expect(on_time.locator(".icon").nth(1)).to_contain_text(
        re.compile(r"Consistently (passing|failing) the target \(85\)|Hit and miss.*\(85\)")
    )
    expect(page.locator("#m-ack_minutes .icon").nth(1)).to_have_text("No target set")
    # every drawing is inside the page's width (nothing cut off at 1920 or on paper)
    widths = page.locator("svg.spc").evaluate_all(
        "ns => ns.map(n => n.getBoundingClientRect().right"
        " <= document.body.getBoundingClientRect().right + 0.5)"
    )
    assert all(widths)

    docs = ROOT / "docs"
    page.screenshot(path=str(docs / "report-1920.png"))
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "report-1920-full.png"), full_page=True)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 portrait at 96 px an inch
    on_time.screenshot(path=str(folder / "report-print-obs_on_time.png"))
    pdf = page.pdf(format="A4", print_background=True)
    (folder / "report-7A-2026-11.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    pages_in_pdf = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    # the header, the overview and the harms, then a page (at least) per measure
    assert pages_in_pdf >= len(MEASURE_IDS) + 1


def test_the_hospital_report_directly(pages: Pages) -> None:
    page = pages.open("/dashboard/report?month=2026-11", live=False)
    expect(page.locator("h1")).to_have_text("Whole hospital · November 2026")
    expect(page.locator(".overview-table thead th")).to_have_count(6)  # no "Hospital" column
    expect(page.locator("section.measure svg.spc")).to_have_count(len(MEASURE_IDS))
