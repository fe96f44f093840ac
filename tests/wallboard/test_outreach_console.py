"""The outreach console on a phone, a tablet and a ward PC, and its alert sound (issue 18,
items 1, 2 and the console's part of 5), in Debian's Chromium against the real system.

The system under test, the browser and the error watch (console errors, uncaught exceptions,
CSP violations fail the test) are `test_browser`'s. Alerts a test must shape exactly (a rung,
a role, an acknowledgement by someone else) are published as the scorer publishes them, on
`wards/{ward}/alerts`; the others come from observations through the real scorer.

The sound is checked at the edge: an init script stands in for the Web Audio API and
`navigator.vibrate` (a headless browser has no speaker) and counts the tones started; the
console also dispatches `outreach-alarm` with what rang and why. Screenshots of the console at
each size go to `$SURVEILLANCE_ARTIFACTS/screenshots/outreach-*.png`; axe-core (vendored in
`tests/wallboard/vendor/`, MPL-2.0, never served) checks the page.
"""

from __future__ import annotations

import json
import re
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from fastapi.testclient import TestClient
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Browser, Page, ViewportSize, expect

from scoring import ChartSet
from tests import ROOT
from tests.mqtt_broker import Mosquitto
from tests.wallboard.a11y import axe_violations
from tests.wallboard.test_browser import (
    _CSP_WATCH,
    HIGH,
    NORMAL,
    LiveSystem,
    Pages,
    _free_port,
    browser,
    iso,
    new_ward,
    playwright,
    pytestmark,  # noqa: F401  # skipped without Chromium, as test_browser is
    screenshot,
    system,
)
from wallboard import ROLES, Auth, BrokerFeed, Grant, Principal, create_app, open_principal

__all__ = ["browser", "playwright", "system"]  # fixtures, shared with test_browser

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 768, "height": 1024}
WARD_PC: ViewportSize = {"width": 1366, "height": 768}
WALL: ViewportSize = {"width": 1920, "height": 1080}
SIZES = {"phone": PHONE, "tablet": TABLET, "ward-pc": WARD_PC, "wall": WALL}

# Stands in for the speaker and the vibration motor; counts what the console asks of them.
_SOUND_WATCH = """
window.__tones = 0;
window.__vibrations = 0;
window.__alarms = [];
document.addEventListener("outreach-alarm", (event) => window.__alarms.push(event.detail));
class StandInAudioContext {
  constructor() { this.state = "suspended"; this.currentTime = 0; this.destination = {}; this.listeners = []; }
  addEventListener(type, listener) { this.listeners.push(listener); }
  async resume() { this.state = "running"; for (const listener of this.listeners) listener(); }
  createOscillator() {
    return { type: "", frequency: { value: 0 }, connect: (node) => node,
             start: () => { window.__tones += 1; }, stop: () => {} };
  }
  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (node) => node };
  }
}
window.AudioContext = StandInAudioContext;
navigator.vibrate = () => { window.__vibrations += 1; return true; };
"""


@pytest.fixture
def console_pages(browser: Browser, system: LiveSystem) -> Iterator[Pages]:
    """Pages on a phone, with the error watch and the sound stand-in."""
    context = browser.new_context(
        viewport=PHONE, locale="en-GB", timezone_id="Europe/London", has_touch=True
    )
    context.add_init_script(_CSP_WATCH)
    context.add_init_script(_SOUND_WATCH)
    opened = Pages(context, system.url)
    try:
        yield opened
    finally:
        context.close()
    assert opened.errors == [], "errors in the browser:\n" + "\n".join(opened.errors)


def alert_event(
    ward: str, alert_id: str, minutes_ago: float, **fields: Any
) -> tuple[str, dict[str, Any]]:
    """An alert event as the scorer publishes it (CONTRACT §5)."""
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    payload = {
        "alert_id": alert_id,
        "ward": ward,
        "bed": "1",
        "time": iso(when),
        "kind": "score",
        "severity": "urgent",
        "state": "raised",
        "message": f"{alert_id}: test alert",
        "rung": 0,
        "notify": "consultant",
        **fields,
    }
    return f"wards/{ward}/alerts", payload


def alarms(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("window.__alarms")
    return found


def keys_of(alarm: dict[str, Any]) -> list[str]:
    return [json.loads(key)[0] for key in alarm["keys"]]


def wait_alarms(page: Page, count: int) -> list[dict[str, Any]]:
    page.wait_for_function("(n) => window.__alarms.length >= n", arg=count, timeout=5000)
    return alarms(page)


def pick_role(page: Page, role: str) -> None:
    details = page.locator("#actor")
    if details.get_attribute("open") is None:
        page.locator("#actor-summary").click()
    page.select_option("#role", role)


# ---- the pure rules, table-driven, in the browser that runs them --------------------------


_RULES = """async () => {
  const A = await import("/static/attention.js");
  const out = {};
  const { ANSWERS: answersOf } = await import("/vocabulary.js");
  const nurse7A = A.person(A.parseGrants("nurse on 7A"), { answersOf });
  const outreach = A.person(A.parseGrants("outreach on all wards"), { answersOf });
  const viewer = A.person(A.parseGrants("viewer on all wards"), { answersOf });
  const screen = A.person(A.parseGrants("display on 7A"), { answersOf, acts: false });
  const pickedConsultant = A.person(A.parseGrants("outreach on all wards"),
    { answersOf, picked: "consultant" });
  const alert = (over) => ({ alert_id: "a1", ward: "7A", severity: "emergency", state: "raised",
    rung: 0, renotified: 0, notify: "outreach", open: true, ...over });
  out.grants = A.parseGrants("nurse on 7A, 7B; doctor on all wards; ; nonsense");
  out.answers = { nurse7A: nurse7A.answers, outreach: outreach.answers, viewer: viewer.answers,
    screen: screen.answers, picked: pickedConsultant.answers };
  const who = { nurse7A, outreach, viewer, screen, pickedConsultant };
  const cases = {
    raised: alert(), escalated: alert({ state: "escalated", rung: 1, notify: "critical-care" }),
    acknowledged: alert({ state: "acknowledged", notify: null }),
    resolved: alert({ state: "resolved", open: false }),
    otherRole: alert({ notify: "nurse-in-charge" }),
    bedside7A: alert({ notify: "bedside-nurse" }),
    bedside7B: alert({ notify: "bedside-nurse", ward: "7B" }),
    consultant: alert({ notify: "consultant" }),
    noNotify: alert({ notify: null }),
  };
  out.calls = {};
  for (const [name, person] of Object.entries(who)) {
    out.calls[name] = Object.fromEntries(Object.entries(cases).map(([k, a]) => [k, A.calls(a, person)]));
  }
  out.mineTold = A.mine(alert({ state: "acknowledged", notify: null }), outreach, ["outreach"]);
  out.mineNotTold = A.mine(alert({ state: "acknowledged", notify: null }), outreach, ["medical-team"]);
  const k = A.noticeKey;
  out.keysDiffer = [k(alert()) !== k(alert({ rung: 1 })), k(alert()) !== k(alert({ severity: "urgent" })),
    k(alert()) !== k(alert({ renotified: 1 })), k(alert()) === k(alert({ message: "other words" }))];
  const none = new Set();
  const first = A.attend([alert()], outreach, none, none);
  const replay = A.attend([alert()], outreach, none, new Set(first.ringing));
  const seenOnce = A.attend([alert()], outreach, new Set(first.ringing), none);
  const up = A.attend([alert({ state: "escalated", rung: 1, notify: "critical-care" })], outreach,
    new Set(first.ringing), new Set());
  const acked = A.attend([alert({ state: "acknowledged", notify: null })], outreach, none,
    new Set(first.ringing));
  const otherRole = A.attend([alert({ notify: "nurse-in-charge" })], outreach, none, none);
  const forViewer = A.attend([alert()], viewer, none, none);
  out.attend = { first, replay, seenOnce, up, acked, otherRole, forViewer };
  out.forget = A.forget(new Set([k(alert()), k(alert({ alert_id: "gone" }))]), [alert()]);
  return out;
}"""


def test_the_attention_rules_decide_who_is_called_and_when_it_sounds(
    system: LiveSystem, console_pages: Pages
) -> None:
    page = console_pages.open("/outreach")
    out = page.evaluate(_RULES)
    assert out["grants"] == [
        {"role": "nurse", "wards": ["7A", "7B"]},
        {"role": "doctor", "wards": "*"},
    ]
    assert out["answers"] == {
        "nurse7A": ["bedside-nurse", "nurse"],
        "outreach": [
            "rapid-review",
            "outreach",
            "critical-care",
            "2222-paediatric-emergency",
        ],
        "viewer": [],  # may not act: never called
        "screen": [],
        "picked": ["consultant"],
    }
    calls = out["calls"]
    assert calls["outreach"] == {
        "raised": True,
        "escalated": True,
        "acknowledged": False,
        "resolved": False,
        "otherRole": False,
        "bedside7A": False,
        "bedside7B": False,
        "consultant": False,
        "noNotify": False,
    }
    assert [name for name, called in calls["nurse7A"].items() if called] == ["bedside7A"]
    assert not any(calls["viewer"].values())
    assert not any(calls["screen"].values())
    assert [name for name, called in calls["pickedConsultant"].items() if called] == ["consultant"]
    assert out["mineTold"] is True
    assert out["mineNotTold"] is False
    assert out["keysDiffer"] == [True, True, True, True]
    attend = out["attend"]
    assert attend["first"]["sound"] is True
    assert attend["first"]["ringing"] == attend["first"]["fresh"]
    assert len(attend["first"]["ringing"]) == 1
    assert attend["replay"] == {**attend["first"], "fresh": [], "sound": False}  # still rings
    assert attend["seenOnce"] == {"ringing": [], "fresh": [], "sound": False}
    assert attend["up"]["sound"] is True  # escalated: a new notice, though the first was seen
    assert attend["acked"] == {"ringing": [], "fresh": [], "sound": False}
    assert attend["otherRole"] == {"ringing": [], "fresh": [], "sound": False}
    assert attend["forViewer"] == {"ringing": [], "fresh": [], "sound": False}
    assert [json.loads(key)[0] for key in out["forget"]] == ["gone"]


def test_the_console_reads_the_roles_as_the_server_writes_them(
    system: LiveSystem, console_pages: Pages
) -> None:
    """`/auth/me` says a person's roles in words (`Principal.role`); the console reads them
    back into grants: every role the server knows, on some wards and on all of them."""
    principals = [
        open_principal("anyone"),
        *(
            Principal(kind="person", name="P", grants=(Grant(role, frozenset({"7A", "B 2"})),))
            for role in ROLES
        ),
        Principal(
            kind="person",
            name="Q",
            grants=(Grant("nurse", frozenset({"7A"})), Grant("doctor", frozenset({"*"}))),
        ),
    ]
    page = console_pages.open("/outreach")
    read = page.evaluate(
        """async (texts) => {
             const A = await import("/static/attention.js");
             return texts.map((text) => A.parseGrants(text));
           }""",
        [principal.role() for principal in principals],
    )
    expected = [
        [
            {"role": grant.role, "wards": "*" if "*" in grant.wards else sorted(grant.wards)}
            for grant in principal.grants
        ]
        for principal in principals
    ]
    assert read == expected


def test_the_server_says_which_ladder_roles_each_login_role_answers() -> None:
    """`/vocabulary.js` serves the ladders' roles (as the scorer reads them) and `ANSWERS`:
    every login role that may acknowledge answers some ladder role, one that may not answers
    none, and every role answered is a ladder's."""
    # In a thread of its own (TestClient): this module's browser keeps an event loop here.
    app = create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"))
    with TestClient(app) as client:
        module = client.get("/vocabulary.js").text
    exports = {
        line.split(" = ", 1)[0].removeprefix("export const "): json.loads(
            line.split(" = ", 1)[1].removesuffix(";")
        )
        for line in module.splitlines()
        if line.startswith("export const ")
    }
    ladders = tomllib.loads((ROOT / "scoring" / "rules" / "ladders.toml").read_text())
    assert exports["LADDER_ROLES"] == ladders["seniority"]
    answers = exports["ANSWERS"]
    acting = {role for role, may in ROLES.items() if "acknowledge" in may}
    assert set(answers) == acting
    assert all(answers[role] for role in acting)
    assert {r for roles in answers.values() for r in roles} <= set(ladders["seniority"])
    # Every ladder's every rung is answered by some login role: no alert rings for nobody.
    rungs = {rung["notify"] for ladder in ladders["ladders"].values() for rung in ladder["rungs"]}
    rungs |= {rung["notify"] for rung in ladders["fallback"]["rungs"]}
    assert rungs <= {r for roles in answers.values() for r in roles}


# ---- item 1: the console, phone first -----------------------------------------------------


def _busy(system: LiveSystem) -> str:
    """A ward with an emergency, an urgent alert and two alerts on one patient."""
    scene = new_ward("phone")
    medium = {**NORMAL, "resp_rate": 22, "spo2": 95, "heart_rate": 104, "temperature": 38.4}
    system.publish(
        scene.admit("3"),
        scene.obs("3", HIGH, minutes_ago=12),
        scene.admit("7"),
        scene.obs("7", medium, minutes_ago=40),
    )
    system.publish(
        alert_event(
            scene.ward,
            f"aki-{scene.ward}",
            25,
            bed="3",
            kind="aki",
            severity="aki-3",
            notify="medical-team",
            message="AKI stage 3 (creatinine 3.2× baseline)",
        ),
        alert_event(
            scene.ward,
            f"feed-{scene.ward}",
            50,
            bed="9",
            kind="feed",
            severity="ward",
            notify="bedside-nurse",
            state="escalated",
            rung=1,
            renotified=2,
            message="No readings from the bed 9 monitor for 35 min",
        ),
    )
    return scene.ward


def test_on_a_phone_one_card_per_patient_most_urgent_first_without_sideways_scrolling(
    system: LiveSystem, console_pages: Pages
) -> None:
    ward = _busy(system)
    page = console_pages.open("/outreach")
    page.select_option("#ward-filter", ward)
    cards = page.locator("li.card")
    expect(cards).to_have_count(3)
    first = cards.nth(0)
    expect(first).to_have_attribute("data-bed", "3")  # the emergency, and its AKI alert
    expect(first.locator(".alert-item")).to_have_count(2)
    expect(first.locator(".card-count")).to_have_text("2 alerts")
    emergency = first.locator(".alert-item").nth(0)
    expect(emergency.locator(".sev-badge")).to_have_text("⚠ Emergency")
    expect(emergency.locator(".alert-cause")).to_contain_text("raised by NEWS2 8 (high)")
    expect(emergency.locator(".alert-told")).to_have_text("Told: outreach (escalation step 1)")
    expect(emergency.locator(".state")).to_have_text("not acknowledged")
    expect(first.locator(".alert-item").nth(1).locator(".sev-badge")).to_have_text("◆ AKI stage 3")
    expect(cards.nth(1)).to_have_attribute("data-bed", "7")
    expect(cards.nth(1).locator(".sev-badge")).to_have_text("◆ Urgent")
    feed = cards.nth(2)
    expect(feed.locator(".alert-told")).to_have_text(
        "Told: bedside-nurse (escalation step 2) · re-told 2×"
    )
    expect(feed.locator(".state")).to_have_text("escalated to bedside-nurse: not acknowledged")
    # Nothing off the right edge; every button and link a gloved finger can hit.
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    small = page.evaluate(
        """() => [...document.querySelectorAll(
                 'main button, main select, main a, main summary, #attention button')]
             .filter((n) => n.offsetParent !== null)
             .map((n) => { const r = n.getBoundingClientRect();
                           return {what: n.textContent.trim() || n.id, w: r.width, h: r.height}; })
             .filter((r) => r.w < 44 || r.h < 44)"""
    )
    assert small == []
    # Resolve is one tap away (once the name is given), with the reason picker, and the
    # dialog fits the phone.
    emergency.get_by_role("button", name="Resolve").click()
    expect(page.locator("#notice")).to_contain_text("Type your name")
    expect(page.locator("#name")).to_be_focused()
    page.fill("#name", "Sam Outreach")
    emergency.get_by_role("button", name="Resolve").click()
    dialog = page.locator("#resolve-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#resolve-reason option")).to_have_count(8)
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    # "Mine": an outreach nurse's alerts are the emergency only (the others name other roles).
    pick_role(page, "")
    page.get_by_role("button", name="Mine only").click()
    expect(page.locator("#mine")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".alert-item")).to_have_count(1)
    expect(page.locator(".alert-item .for-you")).to_have_count(1)
    pick_role(page, "medical-team")
    expect(page.locator(".alert-item")).to_have_count(1)
    expect(page.locator(".alert-item .sev-badge")).to_have_text("◆ AKI stage 3")
    page.get_by_role("button", name="Mine only").click()
    expect(page.locator(".alert-item")).to_have_count(4)
    assert page.evaluate("localStorage.getItem('wallboard.outreach.ward')") == ward


def test_screenshots_of_the_console_at_each_size_and_axe_finds_nothing_serious(
    system: LiveSystem, browser: Browser
) -> None:
    ward = _busy(system)
    errors: list[str] = []
    for label, size in SIZES.items():
        context = browser.new_context(viewport=size, locale="en-GB", timezone_id="Europe/London")
        context.add_init_script(_CSP_WATCH)
        context.add_init_script(_SOUND_WATCH)
        pages = Pages(context, system.url)
        try:
            page = pages.open("/outreach")
            page.evaluate("localStorage.setItem('wallboard.name', 'Sam Patel, outreach RN')")
            page.evaluate(f"localStorage.setItem('wallboard.outreach.ward', {json.dumps(ward)})")
            page.reload()
            expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=10_000)
            expect(page.locator("li.card")).to_have_count(3)
            expect(page.locator("#attention")).to_be_visible()  # the emergency calls outreach
            assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), label
            screenshot(page, f"outreach-{label}")
            violations = axe_violations(page)
            assert violations == [], f"{label}: {json.dumps(violations, indent=1)}"
        finally:
            context.close()
            errors += pages.errors
    assert errors == []


def test_the_console_installs_as_a_web_app(system: LiveSystem, console_pages: Pages) -> None:
    page = console_pages.open("/outreach")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/static/outreach.webmanifest"
    with urllib.request.urlopen(system.url + href, timeout=5) as response:  # noqa: S310  # our own server
        assert response.headers["Content-Type"].startswith("application/manifest+json")
        manifest = json.loads(response.read())
    assert manifest["start_url"] == "/outreach"
    assert manifest["display"] == "standalone"
    sizes = {}
    for icon in manifest["icons"]:
        with urllib.request.urlopen(system.url + icon["src"], timeout=5) as response:  # noqa: S310
            assert response.headers["Content-Type"] == icon["type"]
            body = response.read()
        if icon["type"] == "image/png":
            assert body[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
            sizes[icon["sizes"]] = f"{width}x{height}"
    assert sizes == {"192x192": "192x192", "512x512": "512x512"}
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])


def test_the_console_reconnects_by_itself_and_says_how_old_its_news_is(
    system: LiveSystem, console_pages: Pages
) -> None:
    scene = new_ward("dead")
    system.publish(scene.admit("2"), scene.obs("2", HIGH))
    servers: list[Any] = []
    cut = {"on": False}

    def through(ws: Any) -> None:
        if cut["on"]:
            ws.close()  # a dead zone: nothing gets through
            return
        servers.append(ws.connect_to_server())

    page = console_pages.context.new_page()
    page.on("console", lambda m: console_pages._console(page, m.type, m.text))
    page.route_web_socket("**/ws/outreach*", through)
    page.goto(f"{system.url}/outreach")
    freshness = page.locator("#freshness")
    expect(freshness).to_contain_text("Live · updated")
    expect(page.locator(f'li.card[data-ward="{scene.ward}"] .alert-item')).to_have_count(1)
    cut["on"] = True
    servers[-1].close()
    expect(freshness).to_contain_text("NOT LIVE: last update", timeout=5000)
    expect(freshness).to_have_attribute("data-stale", "true")
    expect(page.locator("#banner")).to_contain_text("Connection to the wallboard server lost")
    page.wait_for_timeout(2500)
    expect(freshness).to_contain_text(" s ago")
    system.publish(scene.obs("2", NORMAL))  # while away: the alert stays open, the score falls
    cut["on"] = False
    expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=20_000)
    expect(freshness).to_contain_text("Live · updated")
    expect(freshness).to_have_attribute("data-stale", "false")
    assert len(servers) >= 2


# ---- item 2: attention without noise ------------------------------------------------------


def _snapshot(system: LiveSystem) -> str:
    """A fresh snapshot of the outreach stream, as the server sends it to a new client."""

    async def read() -> str:
        url = system.url.replace("http://", "ws://") + "/ws/outreach"
        async with websockets.connect(url, origin=system.url) as socket:  # type: ignore[arg-type]
            first = await socket.recv()
            return first if isinstance(first, str) else first.decode()

    return system.run(read())  # on the system's loop: this thread's belongs to Playwright


def test_the_console_sounds_exactly_for_new_and_escalated_alerts_naming_my_role(
    system: LiveSystem, console_pages: Pages
) -> None:
    """As a consultant (picked: no login here), whom no other test's alert names."""
    ward = new_ward("sound").ward
    mine_id, other_id = f"mine-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    to_page: list[Any] = []

    def through(ws: Any) -> None:
        to_page.append(ws)
        ws.connect_to_server()

    page = console_pages.context.new_page()
    page.on("console", lambda m: console_pages._console(page, m.type, m.text))
    page.route_web_socket("**/ws/outreach*", through)
    page.goto(f"{system.url}/outreach")
    expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=10_000)
    pick_role(page, "consultant")
    page.fill("#name", "Dr Consultant")
    page.get_by_role("button", name="Tap to enable alert sound").click()
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("sessionStorage.getItem('wallboard.outreach.sound')") == "on"
    base = len(alarms(page))

    # An alert for another role: silent.
    system.publish(alert_event(ward, other_id, 3, notify="medical-team", severity="urgent"))
    expect(page.locator(f'.alert-item[data-alert-id="{other_id}"]')).to_have_count(1)
    page.wait_for_timeout(300)
    assert len(alarms(page)) == base
    expect(page.locator("#attention")).to_be_hidden()

    # A new alert naming my role: sounds and vibrates at once.
    system.publish(alert_event(ward, mine_id, 2, notify="consultant", seq=1))
    got = wait_alarms(page, base + 1)
    assert [(a["why"], keys_of(a), a["sounded"], a["vibrated"]) for a in got[base:]] == [
        ("new", [mine_id], True, True)
    ]
    assert page.evaluate("window.__tones") == 3  # one alarm: three tones
    expect(page.locator("#attention")).to_contain_text("1 alert for you not yet seen")
    expect(page.locator(f'.alert-item[data-alert-id="{mine_id}"] .for-you')).to_have_text(
        "♪ For you"
    )

    # It repeats until seen.
    page.wait_for_function("(n) => window.__alarms.length >= n", arg=base + 2, timeout=15_000)
    assert [(a["why"], keys_of(a)) for a in alarms(page)[base + 1 :]] == [("repeat", [mine_id])]

    # Seen: it stops; a replay of the snapshot (as after a reconnect) does not sound it again.
    page.get_by_role("button", name="Seen", exact=True).click()
    expect(page.locator("#attention")).to_be_hidden()
    count = len(alarms(page))
    to_page[-1].send(_snapshot(system))
    page.wait_for_timeout(500)
    expect(page.locator(f'.alert-item[data-alert-id="{mine_id}"]')).to_have_count(1)
    assert len(alarms(page)) == count

    # Reloaded: what was seen stays seen for the session, and the sound wants one tap again.
    page.reload()
    expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=10_000)
    expect(page.locator(f'.alert-item[data-alert-id="{mine_id}"]')).to_have_count(1)
    expect(page.locator("#sound")).to_have_text("Sound paused: tap to turn it back on")
    page.wait_for_timeout(500)
    assert alarms(page) == []
    expect(page.locator("#attention")).to_be_hidden()
    page.locator("#sound").click()
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
    count = len(alarms(page))

    # Escalated to another rung that names me again: a new notice, it sounds.
    system.publish(
        alert_event(ward, mine_id, 1, notify="consultant", state="escalated", rung=1, seq=2)
    )
    got = wait_alarms(page, count + 1)
    assert [(a["why"], keys_of(a)) for a in got[count:]] == [("new", [mine_id])]
    expect(page.locator(f'.alert-item[data-alert-id="{mine_id}"] .alert-told')).to_contain_text(
        "Told: consultant (escalation step 2)"
    )

    # A replay while it still rings unseen: nothing new sounds (the repeat goes on).
    count = len(alarms(page))
    to_page[-1].send(_snapshot(system))
    page.wait_for_timeout(500)
    assert [a["why"] for a in alarms(page)[count:]] in ([], ["repeat"])

    # Acknowledged by someone else: it stops ringing, nothing sounds.
    system.publish(
        alert_event(
            ward, mine_id, 0.5, state="acknowledged", notify=None, rung=1, by="Dr Other", seq=3
        )
    )
    expect(page.locator(f'.alert-item[data-alert-id="{mine_id}"] .state')).to_have_text(
        "acknowledged by Dr Other"
    )
    expect(page.locator("#attention")).to_be_hidden()
    count = len(alarms(page))
    page.wait_for_timeout(500)
    assert len(alarms(page)) == count
    assert page.evaluate(
        "(id) => window.__alarms.every((a) => a.keys.every((k) => JSON.parse(k)[0] !== id))",
        other_id,
    )


def test_a_real_emergency_sounds_for_outreach_until_acknowledged_here(
    system: LiveSystem, console_pages: Pages
) -> None:
    """Through the scorer: NEWS2 8 raises an emergency whose first rung is outreach; the
    outreach nurse acknowledges it on the console and the sound stops."""
    scene = new_ward("siren")
    page = console_pages.open("/outreach")
    pick_role(page, "outreach")
    page.fill("#name", "Sam Outreach")
    page.get_by_role("button", name="Tap to enable alert sound").click()
    page.evaluate("window.__alarms = []")
    system.publish(scene.admit("5"), scene.obs("5", HIGH))
    item = page.locator(f'li.card[data-ward="{scene.ward}"] .alert-item')
    expect(item).to_have_count(1)
    alert_id = item.get_attribute("data-alert-id")
    page.wait_for_function(
        "(id) => window.__alarms.some((a) => a.why === 'new' && a.keys.some((k) => JSON.parse(k)[0] === id))",
        arg=alert_id,
        timeout=5000,
    )
    item.get_by_role("button", name="Acknowledge").click()
    expect(item.locator(".state")).to_have_text("acknowledged by Sam Outreach (unverified)")
    ringing = page.evaluate(
        "(id) => [...document.querySelectorAll('li.card.ringing .alert-item')].map((n) => n.dataset.alertId).includes(id)",
        alert_id,
    )
    assert ringing is False


# ---- with a login: the role is the login's ------------------------------------------------

OUTREACH_USER = User(sub="ola", claims={"name": "Ola Outreach", "groups": ["outreach-team"]})


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread(port=0, user_claims=[OUTREACH_USER]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def logged_system(
    mosquitto: Mosquitto, charts: ChartSet, issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSystem]:
    workdir = tmp_path_factory.mktemp("console-login")
    secret = workdir / "client-secret"
    secret.write_text("a-client-secret\n")
    port = _free_port()
    auth: dict[str, Any] = {
        "issuer": issuer,
        "client_id": "wallboard-test",
        "client_secret_file": str(secret),
        "redirect_url": f"http://127.0.0.1:{port}/auth/callback",
        "roles": [{"value": "outreach-team", "role": "outreach", "wards": ["*"]}],
    }
    running = LiveSystem(mosquitto, charts, workdir, auth=auth, http_port=port)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_logged_in_the_console_sounds_for_the_logins_role_and_acts_as_that_person(
    logged_system: LiveSystem, issuer: str, browser: Browser
) -> None:
    system = logged_system
    scene = new_ward("login")
    context = browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/London")
    context.add_init_script(_CSP_WATCH)
    context.add_init_script(_SOUND_WATCH)
    pages = Pages(context, system.url)
    try:
        page = context.new_page()
        page.on(  # the console's own errors, not those of the issuer's login page
            "console",
            lambda m: (
                pages._console(page, m.type, m.text) if page.url.startswith(system.url) else None
            ),
        )
        page.goto(f"{system.url}/outreach")
        expect(page).to_have_url(re.compile(re.escape(issuer) + r"/oauth2/authorize\?"))
        page.get_by_role("button", name="ola", exact=True).click()
        expect(page).to_have_url(f"{system.url}/outreach")
        expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=10_000)
        # No name to type, no role to pick: the login says both.
        expect(page.locator("#actor-summary")).to_have_text(
            "Acting as Ola Outreach · alerts for rapid-review, outreach, critical-care, "
            "2222-paediatric-emergency"
        )
        expect(page.locator("#name")).to_be_hidden()
        expect(page.locator("#role")).to_be_hidden()
        page.get_by_role("button", name="Tap to enable alert sound").click()
        expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")

        system.publish(alert_event(scene.ward, f"med-{scene.ward}", 1, notify="medical-team"))
        card = page.locator(f'li.card[data-ward="{scene.ward}"][data-bed="1"]')
        expect(card.locator(".alert-item")).to_have_count(1)
        page.wait_for_timeout(300)
        assert alarms(page) == []  # the medical team's: silent for outreach

        system.publish(scene.admit("4"), scene.obs("4", HIGH))  # emergency: outreach first
        emergency = page.locator(f'li.card[data-ward="{scene.ward}"][data-bed="4"] .alert-item')
        expect(emergency).to_have_count(1)
        alert_id = emergency.get_attribute("data-alert-id")
        [alarm] = wait_alarms(page, 1)
        assert (alarm["why"], keys_of(alarm), alarm["sounded"]) == ("new", [alert_id], True)
        page.get_by_role("button", name="Mine only").click()
        expect(card.locator(".alert-item")).to_have_count(0)  # the medical team's: not mine
        emergency.get_by_role("button", name="Acknowledge").click()
        expect(emergency.locator(".state")).to_have_text(
            "acknowledged by Ola Outreach (outreach on all wards)"
        )
        expect(page.locator("#attention")).to_be_hidden()
        page.wait_for_timeout(300)
        assert len(alarms(page)) == 1
    finally:
        context.close()
    assert pages.errors == [], "errors in the browser:\n" + "\n".join(pages.errors)
