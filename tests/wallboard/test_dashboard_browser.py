"""The safety dashboard page (`/dashboard`, issue 16 item 4) in headless Chromium, on a store
holding a simulated month of four wards (`tests.wallboard.dashboard_month`).

The wallboard app is the real one, its dashboard the service's (`StoreHistory.dashboard` over a
SQLite store), served by uvicorn in a thread of its own; the broker feed is never started (the
dashboard reads only the store). Every page is watched for console errors, uncaught exceptions
and Content-Security-Policy violations. Screenshots at 1920×1080 (the board room), 390×844 (a
phone) and in print media are written to `$SURVEILLANCE_ARTIFACTS/screenshots/`, with the
printed PDF beside them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from scoring import LONDON
from surveillance import StoreHistory
from surveillance.dashboard import CSV_COLUMNS, MEASURE_IDS
from surveillance.store import open_store
from tests.wallboard.dashboard_month import UNTIL, WARDS, month
from tests.wallboard.test_browser import (
    _CSP_WATCH,
    ARTIFACTS,
    CHROMIUM,
    WALL,
    Pages,
    _free_port,
    browser,  # noqa: F401  (the module's Chromium)
    playwright,  # noqa: F401
)
from wallboard import Auth, BrokerFeed, create_app, serve

PHONE: ViewportSize = {"width": 390, "height": 844}
A4_LANDSCAPE: ViewportSize = {"width": 1123, "height": 794}  # 297 × 210 mm at 96 px an inch
WINDOW = "since=2026-11-02&until=2026-11-30"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
)


class DashboardServer:
    """The wallboard app with the store's dashboard, in a thread and loop of its own."""

    def __init__(self, store_path: Path) -> None:
        self.url_of_store = f"sqlite:///{store_path}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dashboard-server", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:  # shown by start() or stop()
            self.failure = error
            self.ready.set()

    async def _main(self) -> None:
        self.stop_event = asyncio.Event()
        history = StoreHistory(LONDON, clock=lambda: UNTIL)
        async with open_store(self.url_of_store) as store:
            await store.write(month().batch)  # here: Playwright's loop holds the main thread
            history.store = store
            app = create_app(
                BrokerFeed("127.0.0.1", 1),
                auth=Auth.without_login("none"),
                history=history,
                dashboard=history.dashboard,
            )
            server = asyncio.create_task(serve(app, "127.0.0.1", self.port))
            await asyncio.sleep(0.3)
            self.ready.set()
            await self.stop_event.wait()
            server.cancel()
            with pytest.raises(asyncio.CancelledError):
                await server

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(30)
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        self.loop.close()
        assert self.failure is None, self.failure


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    path = tmp_path_factory.mktemp("dashboard") / "store.db"
    running = DashboardServer(path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pages(browser: Browser, server: DashboardServer) -> Iterator[Pages]:  # noqa: F811
    context = browser.new_context(viewport=WALL, locale="en-GB", timezone_id="Europe/London")
    context.add_init_script(_CSP_WATCH)
    opened = Pages(context, server.url)
    try:
        yield opened
    finally:
        context.close()
    assert opened.errors == [], "errors in the browser:\n" + "\n".join(opened.errors)


def shot(page: Page, name: str, *, full: bool = False) -> None:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


def block_shot(page: Page, selector: str, name: str) -> None:
    folder = ARTIFACTS / "screenshots"
    page.locator(selector).screenshot(path=str(folder / f"{name}.png"))


def ready(pages: Pages, path: str) -> Page:
    page = pages.open(path, live=False)
    expect(page.locator("body[data-ready=true]")).to_have_count(1, timeout=20_000)
    return page


def api(page: Page, query: str) -> Any:
    origin = page.evaluate("location.origin")
    response = page.request.get(f"{origin}/api/dashboard?{query}")
    assert response.ok, response.text()
    return response


def test_the_hospital_month_by_week_every_measure_charted(pages: Pages) -> None:
    page = ready(pages, f"/dashboard?period=week&{WINDOW}")
    board = api(page, f"period=week&{WINDOW}").json()
    blocks = page.locator("section.dash-measure")
    expect(blocks).to_have_count(len(MEASURE_IDS))
    expect(page.locator("#scope-title")).to_have_text("Whole hospital")
    expect(page.locator("#since")).to_have_value("2026-11-02")
    expect(page.locator("#to")).to_have_value("2026-11-29")
    # The ward picker offers the hospital and every ward in the store.
    options = page.locator("#ward option")
    expect(options).to_have_text(["Whole hospital", *(f"Ward {w}" for w in WARDS)])
    for measure in board["measures"]:
        hospital = next(s for s in measure["scopes"] if s["scope"] == "hospital")
        block = page.locator(f"#m-{measure['id']}")
        valued = [p for p in hospital["series"] if p["value"] is not None]
        # one point per period with a value, each with its type, and one column per period
        expect(block.locator("svg.spc .pt")).to_have_count(len(valued))
        types = block.locator("svg.spc .pt").evaluate_all("nodes => nodes.map(n => n.dataset.type)")
        assert types == [p["point_type"] or "common_cause" for p in valued]
        expect(block.locator(".dash-numbers thead th")).to_have_count(1 + len(hospital["series"]))
        # the denominators of each period are on the page
        admissions = block.locator(".dash-numbers tr[data-row=admissions] td")
        expect(admissions).to_have_text([f"{p['admissions']:,}" for p in hospital["series"]])
        # equity: every group of every dimension, suppressed cells as *
        expect(block.locator(".dash-equity-table th.group")).to_have_count(len(hospital["equity"]))
        if hospital["variation"] is not None:
            expect(block.locator(".dash-changed")).not_to_contain_text("No chart")
            expect(block.locator("svg.spc path.mean")).to_have_count(1)
            limits = sum(any(p[k] is not None for p in valued) for k in ("lpl", "upl"))
            expect(block.locator("svg.spc path.limit")).to_have_count(limits)
    suppressed = sum(
        1
        for m in board["measures"]
        for s in m["scopes"]
        if s["scope"] == "hospital"
        for e in s["equity"]
        if e["numerator"] == "*"
    )
    assert suppressed > 0  # the month has small groups: the page must show them as *
    shown = page.locator(".dash-equity-table td", has_text="*").count()
    assert shown >= suppressed
    shot(page, "dashboard-hospital-1920")


def test_a_ward_by_day_shows_its_special_causes_in_colour_shape_and_words(pages: Pages) -> None:
    page = ready(pages, f"/dashboard?ward=7A&period=day&{WINDOW}")
    expect(page.locator("#scope-title")).to_have_text("Ward 7A")
    expect(page.locator("#ward")).to_have_value("7A")
    board = api(page, f"ward=7A&period=day&{WINDOW}").json()
    on_time = next(m for m in board["measures"] if m["id"] == "obs_on_time")
    scope = on_time["scopes"][0]
    assert scope["scope"] == "7A"
    concern = [p for p in scope["series"] if p["point_type"] == "special_cause_concern"]
    assert concern, "the simulated month builds in a slip on 7A: its chart must show it"
    block = page.locator("#m-obs_on_time")
    expect(block.locator("svg.spc .pt-concern")).to_have_count(len(concern))
    # Not colour alone: a concern point is a triangle (a path), and it says so in its title.
    first = block.locator("svg.spc .pt-concern").first
    assert first.evaluate("n => n.tagName") == "path"
    expect(first.locator("title")).to_contain_text("special cause — concern")
    variation = block.locator(".dash-icon").first
    last = [p for p in scope["series"] if p["point_type"]][-1]
    words = {
        "special_cause_concern": "Special cause — concern",
        "special_cause_improvement": "Special cause — improvement",
        "common_cause": "Common cause — no significant change",
    }[scope["variation"]]
    expect(variation).to_contain_text(words)
    expect(block.locator(".dash-changed")).to_contain_text(
        "No sign of change" if last["point_type"] == "common_cause" else "Special cause"
    )
    expect(block.locator(".dash-icon").nth(1)).to_contain_text("No target set")
    shot(page, "dashboard-ward-day-1920")
    shot(page, "dashboard-ward-day-1920-full", full=True)
    for measure in ("ack_minutes", "sepsis_treated_1h", "alerts_overdue_per_100_patient_days"):
        block_shot(page, f"#m-{measure}", f"dashboard-ward-day-{measure}")


def test_the_pickers_change_the_request_and_the_csv_has_every_charts_numbers(
    pages: Pages,
) -> None:
    page = ready(pages, f"/dashboard?period=week&{WINDOW}")
    page.select_option("#ward", "8A")
    page.select_option("#period", "month")
    page.fill("#since", "2026-11-09")
    page.fill("#to", "2026-11-22")
    page.evaluate("document.body.dataset.ready = 'false'")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1, timeout=20_000)
    assert page.url.endswith("/dashboard?ward=8A&period=month&since=2026-11-09&until=2026-11-23")
    expect(page.locator("#scope-title")).to_have_text("Ward 8A")
    link = page.locator("#csv")
    href = link.get_attribute("href")
    assert (
        href == "/api/dashboard?ward=8A&period=month&since=2026-11-09&until=2026-11-23&format=csv"
    )
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "dashboard-8A-month.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    board = json.loads(
        api(page, href.removeprefix("/api/dashboard?").replace("csv", "json")).text()
    )
    series = [
        (m["id"], s["scope"], p["period"], p["numerator"], p["denominator"])
        for m in board["measures"]
        for s in m["scopes"]
        for p in s["series"]
    ]
    in_csv = [
        (r["measure"], r["scope"], r["period"], float(r["numerator"]), float(r["denominator"]))
        for r in rows
        if r["section"] == "series"
    ]
    assert in_csv == [(m, s, p, float(n), float(d)) for m, s, p, n, d in series]
    assert {r["scope"] for r in rows} == {"8A", "hospital"}


def test_a_bad_request_is_said_on_the_page(pages: Pages) -> None:
    pages.allow("400")
    page = pages.open("/dashboard?period=fortnight", live=False)
    expect(page.locator("#notice")).to_contain_text("`period` is 'fortnight'", timeout=10_000)
    expect(page.locator("section.dash-measure")).to_have_count(0)


def test_a_phone_and_print(browser: Browser, server: DashboardServer) -> None:  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/London")
    context.add_init_script(_CSP_WATCH)
    pages = Pages(context, server.url)
    try:
        page = ready(pages, f"/dashboard?ward=7B&period=week&{WINDOW}")
        # Nothing wider than the phone but the tables, which scroll inside their boxes.
        wide = page.evaluate(
            """() => [...document.querySelectorAll('main *')].filter(n =>
                 !n.closest('.dash-series, .dash-equity')
                 && n.getBoundingClientRect().right > innerWidth + 1
               ).map(n => n.tagName + '.' + n.className)"""
        )
        assert wide == []
        shot(page, "dashboard-phone-390")
        block_shot(page, "#m-obs_on_time", "dashboard-phone-390-measure")
        page.set_viewport_size(A4_LANDSCAPE)
        page.emulate_media(media="print")
        expect(page.locator(".dash-pick")).to_be_hidden()
        expect(page.locator(".bar-tools")).to_be_hidden()
        shot(page, "dashboard-print-page-1")
        block_shot(page, "#m-ack_minutes", "dashboard-print-measure")
        folder = ARTIFACTS / "screenshots"
        page.pdf(path=str(folder / "dashboard-print.pdf"), format="A4", landscape=True)
        assert (folder / "dashboard-print.pdf").stat().st_size > 10_000
    finally:
        context.close()
    assert pages.errors == [], "errors in the browser:\n" + "\n".join(pages.errors)
