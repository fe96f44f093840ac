"""Every page at every size, read by axe-core, from the keyboard and from across the ward
(issue 18, items 3, 4 and 5), in Debian's headless Chromium against the real system.

Pages: the ward picker, the ward board, the patient view, the outreach console, the
wallboard's own login page (what a refused or expired login shows), the safety dashboard and
the monthly report. Sizes (`tests.wallboard.a11y.SIZES`): a phone 390 × 844, a tablet
820 × 1180, a ward PC 1366 × 768, a wall screen 1920 × 1080 and a 4K wall screen 3840 × 2160.

The live pages run on `test_browser`'s system (Mosquitto, the scorer, the wallboard; one for
the module) with a ward holding a sick patient, overdue ones and open alerts of every kind;
the dashboard and report on `test_report_browser`'s server over the simulated month. One
browser context per size, reused by every page. Each page at each size: no sideways
scrolling, no serious or critical axe-core violation of WCAG 2.2 AA (printed readably),
no console error nor CSP violation, and a screenshot in
`$SURVEILLANCE_ARTIFACTS/screenshots/every-page/{page}-{size}.png`. The README's board
pictures are written to `docs/board-*.png`.

Legibility from 3 m (the wall board at 1920 × 1080 and 3840 × 2160): the rendered height of a
capital letter or digit of the bed, the initials, the score, the risk words and the
DUE / LATE / MISSED marks is measured in the browser (canvas `measureText`, in the font the
page got) and converted to millimetres on a 55-inch 16:9 panel; it must be at least
1/200 of the viewing distance, 15 mm (FAA Human Factors "Character and symbol size":
character size ≈ 1/200 of the viewing distance, ≈ 17 minutes of arc; ISO 9241-3: at least 16,
preferably 20-22 minutes of arc).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import APIResponse, Browser, BrowserContext, Page, Route, expect

from tests import ROOT
from tests.wallboard.a11y import SIZES, axe_violations, readable, sideways
from tests.wallboard.test_browser import (
    _CSP_WATCH,
    ARTIFACTS,
    HIGH,
    MEDIUM,
    NORMAL,
    LiveSystem,
    Pages,
    Scenario,
    browser,
    iso,
    new_ward,
    playwright,
    pytestmark,  # noqa: F401  # skipped without Chromium, as test_browser is
    system,
)
from tests.wallboard.test_report_browser import ReportServer

__all__ = ["browser", "playwright", "system"]  # fixtures, shared with test_browser

SHOTS = ARTIFACTS / "screenshots" / "every-page"
DOCS = ROOT / "docs"

# A 55-inch 16:9 panel is 1217.6 mm wide: 0.634 mm a pixel at 1920, 0.317 mm at 3840.
PANEL_WIDTH_MM = 55 * 25.4 * 16 / math.hypot(16, 9)
DISTANCE_MM = 3000
MIN_CHARACTER_MM = DISTANCE_MM / 200  # 15 mm: FAA HF "1/200 of the viewing distance"
READ_FROM_ACROSS = {  # what must be read from 3 m: the selector, and what it is
    ".bed-no": "bed number",
    ".initials": "initials",
    ".total": "score",
    ".obs-word": "DUE / LATE / MISSED",
}


def arcminutes(height_mm: float, distance_mm: float = DISTANCE_MM) -> float:
    return math.degrees(2 * math.atan(height_mm / (2 * distance_mm))) * 60


# ---- the scene: a busy ward ---------------------------------------------------------------


@dataclass
class Scene:
    ward: str
    sick_bed: str


def alert_event(ward: str, bed: str, kind: str, severity: str, message: str, **more: Any) -> Any:
    payload = {
        "alert_id": f"{severity}-{ward}-{uuid.uuid4().hex[:6]}",
        "ward": ward,
        "bed": bed,
        "time": iso(datetime.now(UTC) - timedelta(minutes=7)),
        "kind": kind,
        "severity": severity,
        "state": "raised",
        "message": message,
        "rung": 0,
        "notify": "nurse-in-charge",
        **more,
    }
    return f"wards/{ward}/alerts", payload


def busy_ward(system: LiveSystem, scene: Scenario) -> None:
    """Twelve beds: the sickest (NEWS2 8, an emergency), a medium, a single 3, the due, the
    late and the missed, a Scale 2 patient, an incomplete set, an empty bed, and alerts of the
    other severities beside the scorer's."""
    w = scene.ward
    history = [
        scene.obs(
            "1",
            {**NORMAL, "heart_rate": 80 + 8 * i, "resp_rate": 16 + 2 * i},
            minutes_ago=60 * (6 - i),
        )
        for i in range(4)
    ]
    incomplete = {k: v for k, v in NORMAL.items() if k not in ("temperature", "systolic_bp")}
    last = {
        "1": scene.obs("1", HIGH, minutes_ago=12),
        "2": scene.obs("2", MEDIUM, minutes_ago=40),
        "3": scene.obs("3", NORMAL, minutes_ago=60 * 21),  # missed
        "4": scene.obs("4", NORMAL, minutes_ago=60 * 17),  # late
        "5": scene.obs("5", NORMAL, minutes_ago=60 * 13),  # due
        "6": scene.obs("6", {**NORMAL, "consciousness": "C"}, minutes_ago=10),  # a single 3
        "7": scene.obs("7", NORMAL, minutes_ago=50),
        "8": scene.obs("8", {**NORMAL, "spo2": 90, "on_oxygen": True, "resp_rate": 21}),
        "9": scene.obs("9", incomplete, minutes_ago=30),
        "11": scene.obs("11", {**NORMAL, "temperature": 38.3}, minutes_ago=60 * 20),
        "12": scene.obs("12", NORMAL, minutes_ago=60 * 3),
    }
    admits = [
        scene.admit(bed, hours_ago=23, **({"spo2_scale": 2} if bed == "8" else {}))
        for bed in (*last, "10")
    ]
    system.publish(*admits, *history, *last.values(), scene.discharge("10"))
    system.publish(
        alert_event(w, "2", "aki", "aki-3", "AKI stage 3 (creatinine 3.1× baseline)"),
        alert_event(w, "7", "feed", "ward", "No readings from the bed 7 monitor for 35 min"),
        alert_event(w, "12", "obs", "warning", "Blood pressure not taken at the last set"),
        alert_event(w, "12", "obs", "routine", "Fluid balance chart due"),
    )
    for bed, (_, payload) in last.items():
        system.wait_for_score(w, bed, payload["msg_id"])


@pytest.fixture(scope="module")
def scene(system: LiveSystem) -> Scene:
    ward = new_ward("every")
    busy_ward(system, ward)
    return Scene(ward.ward, "1")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportServer]:
    running = ReportServer(tmp_path_factory.mktemp("every-report") / "store.db")
    running.start()
    try:
        yield running
    finally:
        running.stop()


# The month's dashboard and report are computed afresh on every request (seconds each); the
# same bytes serve every size, so the first answer is kept and given to the other sizes.
_SAME_AT_EVERY_SIZE = ("**/api/dashboard?*", "**/dashboard/report?*")


class Sized:
    """One browser context per size, shared by every test of the module."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: dict[str, BrowserContext] = {}
        self.answers: dict[str, APIResponse] = {}

    def _once(self, route: Route) -> None:
        url = route.request.url
        if url not in self.answers:
            self.answers[url] = route.fetch()
        route.fulfill(response=self.answers[url])

    def context(self, size: str) -> BrowserContext:
        if size not in self.contexts:
            made = self.browser.new_context(
                viewport=SIZES[size],
                locale="en-GB",
                timezone_id="Europe/London",
                has_touch=size in ("phone", "tablet"),
            )
            made.add_init_script(_CSP_WATCH)
            for pattern in _SAME_AT_EVERY_SIZE:
                made.route(pattern, self._once)
            self.contexts[size] = made
        return self.contexts[size]

    def pages(self, size: str, base: str) -> Pages:
        return Pages(self.context(size), base)

    def close(self) -> None:
        for made in self.contexts.values():
            made.close()


@pytest.fixture(scope="module")
def sized(browser: Browser) -> Iterator[Sized]:
    made = Sized(browser)
    try:
        yield made
    finally:
        made.close()


# ---- every page, every size ---------------------------------------------------------------

WINDOW = "since=2026-11-02&until=2026-11-30"


@dataclass(frozen=True)
class Target:
    server: str  # "live" (the scorer's system) or "report" (the month's store)
    path: str  # with {ward} and {bed}
    until: str  # JavaScript, true once the page shows the scene (`ward`: the scene's ward)
    ready: Callable[[Page, Scene], None]  # then what it must show


def _ward_links(page: Page, scene: Scene) -> None:
    expect(page.get_by_role("link", name=f"Ward {scene.ward}")).to_contain_text("1 high")


def _board(page: Page, scene: Scene) -> None:
    expect(page.locator(f'li.tile[data-bed="{scene.sick_bed}"] .total')).to_have_text("8")
    expect(page.locator('li.tile[data-bed="3"] .obs-word')).to_have_text("✖ MISSED")


def _patient(page: Page, scene: Scene) -> None:
    expect(page.locator("#strip-score rect.score-bar")).to_have_count(5)
    expect(page.locator("#latest .total")).to_have_text("8")


def _console(page: Page, scene: Scene) -> None:
    mine = page.locator(f'li.card[data-ward="{scene.ward}"]')
    expect(mine.locator(".alert-item", has_text="Fluid balance chart due")).to_be_visible()
    expect(mine.locator(".alert-item", has_text="Emergency")).to_be_visible()


def _login(page: Page, scene: Scene) -> None:
    expect(page.locator("p[role=alert]")).to_have_text("There is no login on this server.")


def _dashboard(page: Page, scene: Scene) -> None:
    expect(page.locator("body[data-ready=true]")).to_have_count(1, timeout=20_000)


def _report(page: Page, scene: Scene) -> None:
    expect(page.locator("h1")).to_have_text("Ward 7A · November 2026")


_LIVE = "document.documentElement.dataset.stream === 'live' && "
TARGETS = {
    "wards": Target(
        "live",
        "/",
        "/1 high/.test(document.querySelector(`a[href='/wards/${ward}']`)?.textContent)",
        _ward_links,
    ),
    "ward": Target(
        "live",
        "/wards/{ward}",
        _LIVE + "document.querySelector('li.tile[data-bed=\"3\"] .obs-word')",
        _board,
    ),
    "patient": Target(
        "live",
        "/wards/{ward}/beds/{bed}?hours=12",
        _LIVE + "document.querySelectorAll('#strip-score rect.score-bar').length >= 5",
        _patient,
    ),
    "outreach": Target(
        "live",
        "/outreach",
        _LIVE + "document.querySelector(`li.card[data-ward='${ward}']`)"
        " && /Fluid balance chart due/.test(document.getElementById('cards').textContent)",
        _console,
    ),
    "login": Target("live", "/auth/callback", "document.querySelector('p[role=alert]')", _login),
    "dashboard": Target(
        "report",
        f"/dashboard?ward=7A&period=week&{WINDOW}",
        "document.body.dataset.ready === 'true'",
        _dashboard,
    ),
    "report": Target(
        "report", "/dashboard/report?ward=7A&month=2026-11", "document.querySelector('h1')", _report
    ),
}


def open_target(
    name: str, size: str, sized: Sized, system: LiveSystem, report: ReportServer, scene: Scene
) -> tuple[Page, Pages]:
    target = TARGETS[name]
    pages = sized.pages(size, system.url if target.server == "live" else report.url)
    if name == "login":
        pages.allow("404")  # the page is a 404: this server has no login
    page = pages.open(target.path.format(ward=scene.ward, bed=scene.sick_bed), live=False)
    # Waited for on every frame (expect's polling backs off to a second).
    page.wait_for_function(f"(ward) => !!({target.until})", arg=scene.ward, timeout=20_000)
    target.ready(page, scene)
    return page, pages


# axe's colour contrast takes 2.5 s over the dashboard's 6,000 nodes. dashboard.css never
# changes a colour with the screen, and its text is never smaller at the ward PC than on the
# tablet (both 14 px; only the title grows) nor at 4K than on the wall (22 px against 16 px):
# contrast that passes at the smaller size passes at the larger (large text needs less), so it
# is read at phone, tablet and wall sizes only.
_SKIP = {("dashboard", size): ("color-contrast",) for size in ("ward-pc", "wall-4k")}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(TARGETS))
def test_every_page_fits_its_screen_and_passes_axe(
    name: str, size: str, sized: Sized, system: LiveSystem, report: ReportServer, scene: Scene
) -> None:
    page, pages = open_target(name, size, sized, system, report, scene)
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        # The whole length where it is a column (the dashboard's and the report's are their own
        # tests', and slow to draw).
        full = size in ("phone", "tablet") and name not in ("dashboard", "report")
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=full)
        if name == "ward" and size in ("wall", "ward-pc", "phone"):
            page.screenshot(path=str(DOCS / f"board-{size}.png"))
        wide = sideways(page)
        assert wide is None, f"{name} at {size} scrolls sideways: {wide}"
        violations = axe_violations(page, skip=_SKIP.get((name, size), ()))
        assert violations == [], f"{name} at {size}:\n{readable(violations)}"
        assert pages.errors == [], "errors in the browser:\n" + "\n".join(pages.errors)
    finally:
        page.close()


# ---- legible from across the ward ---------------------------------------------------------

_CAP_HEIGHTS = """(selectors) => {
  const ctx = document.createElement("canvas").getContext("2d");
  const out = {};
  for (const selector of selectors) {
    out[selector] = [...document.querySelectorAll(selector)].map((node) => {
      const s = getComputedStyle(node);
      ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      return { text: node.textContent, size: parseFloat(s.fontSize),
               cap: ctx.measureText("H").actualBoundingBoxAscent,
               digit: ctx.measureText("8").actualBoundingBoxAscent };
    });
  }
  return out;
}"""


@pytest.mark.parametrize("size", ["wall", "wall-4k"])
def test_the_wall_board_is_legible_from_three_metres(
    size: str, sized: Sized, system: LiveSystem, report: ReportServer, scene: Scene
) -> None:
    page, _ = open_target("ward", size, sized, system, report, scene)
    try:
        mm_per_px = PANEL_WIDTH_MM / SIZES[size]["width"]
        measured = page.evaluate(_CAP_HEIGHTS, list(READ_FROM_ACROSS))
        smallest = {}
        for selector, what in READ_FROM_ACROSS.items():
            nodes = measured[selector]
            assert nodes, f"nothing on the board matches {selector} ({what})"
            low = min(nodes, key=lambda n: min(n["cap"], n["digit"]))
            height_mm = min(low["cap"], low["digit"]) * mm_per_px
            smallest[what] = (low["size"], round(height_mm, 1), round(arcminutes(height_mm), 1))
        print(f"\n{size}: (font px, character height mm, arcmin at 3 m) {smallest}")
        too_small = {w: v for w, v in smallest.items() if v[1] < MIN_CHARACTER_MM}
        assert too_small == {}, f"smaller than {MIN_CHARACTER_MM} mm at {size}: {too_small}"
    finally:
        page.close()


# ---- never colour alone -------------------------------------------------------------------


def test_colour_is_never_the_only_sign_on_the_board_and_the_dashboard(
    sized: Sized, system: LiveSystem, report: ReportServer, scene: Scene
) -> None:
    board, _ = open_target("ward", "wall", sized, system, report, scene)
    try:
        tiles = board.locator("li.tile").evaluate_all(
            """ts => ts.map(t => ({
                 bed: t.dataset.bed, classes: t.className,
                 risk: (t.querySelector('.risk') || {}).textContent || '',
                 none: (t.querySelector('.tile-score.none') || {}).textContent || '',
                 obs: (t.querySelector('.obs-word') || {}).textContent || '',
                 chips: [...t.querySelectorAll('.alert-chip')].map(c =>
                   [c.className, c.querySelector('.alert-sev').textContent]) }))"""
        )
        words = {"white": "Low", "yellow": "Low–medium", "orange": "Medium", "red": "High"}
        for tile in tiles:
            classes = tile["classes"].split()
            for tone, word in words.items():
                if f"tone-{tone}" in classes:
                    assert tile["risk"].startswith(word), tile
            for status in ("due", "late", "missed"):
                if f"obs-{status}" in classes:
                    assert status.upper() in tile["obs"], tile
            for chip_classes, severity in tile["chips"]:
                assert chip_classes.startswith("alert-chip sev-"), tile
                assert severity.strip("⚠✓ "), tile  # the severity in words
        # The key is read out too, and says every colour's meaning in words.
        legend = board.locator(".legend")
        assert legend.get_attribute("aria-hidden") is None
        expect(legend).to_contain_text("High")
        expect(legend).to_contain_text("MISSED")
    finally:
        board.close()
    # 7A by day: its slip in the month's last ten days makes special-cause points.
    dashboard = sized.pages("wall", report.url).open(
        f"/dashboard?ward=7A&period=day&{WINDOW}", live=False
    )
    try:
        _dashboard(dashboard, scene)
        points = dashboard.locator("svg.spc .pt").evaluate_all(
            """ps => ps.map(p => [p.dataset.type, p.tagName,
                 (p.querySelector('title') || {}).textContent || ''])"""
        )
        assert points
        shapes: dict[str, set[str]] = {}
        for kind, tag, title in points:
            shapes.setdefault(kind, set()).add(tag)
            assert title, f"a {kind} point has no words"
        concern, common = shapes.get("special_cause_concern"), shapes.get("common_cause")
        assert concern, shapes
        assert common, shapes
        assert concern.isdisjoint(common), shapes  # a concern is not drawn as common cause
    finally:
        dashboard.close()


# ---- charts say what they show; new alerts are spoken -----------------------------------

_UNNAMED_GRAPHICS = """() => [...document.querySelectorAll("svg")]
  .filter((s) => !s.closest("[aria-hidden=true]"))
  .filter((s) => {
    const name = s.getAttribute("aria-label") || (s.getAttribute("aria-labelledby") || "")
      .split(" ").map((id) => (document.getElementById(id) || {}).textContent || "").join("");
    return s.getAttribute("role") !== "img" || !name.trim();
  }).map((s) => s.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("name", ["patient", "dashboard", "report"])
def test_every_chart_is_an_image_with_words(
    name: str, sized: Sized, system: LiveSystem, report: ReportServer, scene: Scene
) -> None:
    page, _ = open_target(name, "wall", sized, system, report, scene)
    try:
        assert page.locator("svg[role=img]").count() > 0
        assert page.evaluate(_UNNAMED_GRAPHICS) == []
        if name == "patient":  # the observation chart: a title and a description
            chart = page.locator("#chart svg.obs-chart")
            expect(chart).to_have_attribute("aria-labelledby", "chart-title")
            expect(chart).to_have_attribute("aria-describedby", "chart-desc")
            expect(chart.locator("desc#chart-desc")).to_contain_text("Latest: NEWS2 8, high risk")
    finally:
        page.close()


def _announced(page: Page, region: str, text: str) -> None:
    expect(page.locator(region)).to_contain_text(text, timeout=5000)


@pytest.mark.parametrize("where", ["ward", "outreach"])
def test_new_alerts_are_announced_politely_and_emergencies_at_once(
    where: str, sized: Sized, system: LiveSystem
) -> None:
    scene = new_ward("speak")
    system.publish(scene.admit("1"), scene.obs("1", NORMAL))
    system.publish(alert_event(scene.ward, "1", "obs", "warning", "an older alert"))
    pages = sized.pages("ward-pc", system.url)
    page = pages.open(f"/wards/{scene.ward}" if where == "ward" else "/outreach")
    try:
        polite, urgent = page.locator("#announce-polite"), page.locator("#announce-urgent")
        expect(polite).to_have_attribute("aria-live", "polite")
        expect(urgent).to_have_attribute("role", "alert")
        expect(urgent).to_have_attribute("aria-live", "assertive")
        if where == "ward":
            expect(page.locator("li.tile .alert-chip")).to_have_count(1)
        else:
            expect(page.locator(f'li.card[data-ward="{scene.ward}"]')).to_have_count(1)
        expect(polite).to_have_text("")  # what was open already is not news
        system.publish(
            alert_event(scene.ward, "1", "aki", "aki-3", "AKI stage 3 (creatinine 3.1× baseline)")
        )
        _announced(page, "#announce-polite", f"New alert: AKI stage 3, ward {scene.ward} bed 1")
        expect(urgent).to_have_text("")
        system.publish(scene.obs("1", HIGH))  # NEWS2 8: the scorer's emergency
        _announced(page, "#announce-urgent", f"New alert: Emergency, ward {scene.ward} bed 1")
        assert pages.errors == [], pages.errors
    finally:
        page.close()


# ---- the keyboard alone -------------------------------------------------------------------


def tab_to(page: Page, selector: str, limit: int = 200) -> None:
    """Press Tab until the focus is on `selector`; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(
            """(selector) => {
                 const n = document.activeElement;
                 const s = getComputedStyle(n);
                 return { here: n.matches(selector), tag: n.tagName, id: n.id,
                          style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                          visible: n.matches(":focus-visible") };
               }""",
            selector,
        )
        if focus["tag"] != "BODY":
            assert focus["visible"], focus
            assert focus["style"] != "none", f"no visible focus on {focus}"
            assert focus["width"] >= 2, f"a thin focus outline on {focus}"
        if focus["here"]:
            return
    pytest.fail(f"{selector} not reached in {limit} presses of Tab")


def test_the_board_acknowledges_from_the_keyboard(sized: Sized, system: LiveSystem) -> None:
    scene = new_ward("keys")
    system.publish(scene.admit("1"), scene.obs("1", NORMAL), scene.admit("2"), scene.obs("2", HIGH))
    context = sized.context("wall")
    pages = Pages(context, system.url)
    page = pages.open(f"/wards/{scene.ward}")
    try:
        page.evaluate("localStorage.removeItem('wallboard.name')")
        chip = page.locator('li.tile[data-bed="2"] .alert-chip')
        expect(chip).to_have_count(1)
        tab_to(page, 'li.tile[data-bed="2"] button.ack')
        page.keyboard.press("Enter")
        expect(page.locator("#who-dialog")).to_be_visible()
        assert page.evaluate("document.activeElement.id") == "who-input"
        page.keyboard.type("Kay Board")
        page.keyboard.press("Enter")
        expect(chip).to_contain_text("acknowledged by Kay Board")
        expect(page.locator("#who-dialog")).to_be_hidden()
        tab_to(page, "#sort")  # the board's own control, by the keyboard too
        page.keyboard.press("Space")
        expect(page.locator("#sort")).to_have_text("Sorted by bed")
        assert pages.errors == [], pages.errors
    finally:
        page.evaluate("localStorage.removeItem('wallboard.sort')")
        page.close()


def test_the_console_acknowledges_and_resolves_from_the_keyboard(
    sized: Sized, system: LiveSystem
) -> None:
    scene = new_ward("kbd")
    system.publish(scene.admit("4"), scene.obs("4", HIGH))
    system.publish(alert_event(scene.ward, "4", "aki", "aki-3", "AKI stage 3 (creatinine ×3)"))
    pages = sized.pages("phone", system.url)
    page = pages.open("/outreach")
    try:
        page.select_option("#ward-filter", scene.ward)  # setting up: only this test's ward
        items = page.locator(f'li.card[data-ward="{scene.ward}"] .alert-item')
        expect(items).to_have_count(2)
        page.locator("#ward-filter").focus()
        tab_to(page, "#actor-summary")
        if page.locator("#actor").get_attribute("open") is None:
            page.keyboard.press("Enter")
        tab_to(page, "#name")
        page.keyboard.press("Control+A")
        page.keyboard.type("Kit Keys")
        emergency = items.nth(0)
        expect(emergency.locator(".sev-badge")).to_contain_text("Emergency")
        tab_to(page, f'li.card[data-ward="{scene.ward}"] .alert-item:nth-child(1) .ack-button')
        page.keyboard.press("Enter")
        expect(emergency.locator(".state")).to_have_text("acknowledged by Kit Keys (unverified)")
        # Then the same alert's Resolve (the scorer's own alert: it answers the resolution).
        tab_to(
            page,
            f'li.card[data-ward="{scene.ward}"] .alert-item:nth-child(1) button[aria-label^=Resolve]',
        )
        page.keyboard.press("Enter")
        dialog = page.locator("#resolve-dialog")
        expect(dialog).to_be_visible()
        assert page.evaluate("document.activeElement.id") == "resolve-reason"
        page.keyboard.press("ArrowDown")  # the first reason
        expect(page.locator("#resolve-reason")).to_have_value(
            "Reviewed at the bedside: plan in place"
        )
        tab_to(page, "#resolve-ok", limit=5)
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(items).to_have_count(1)
        assert pages.errors == [], pages.errors
    finally:
        page.close()
