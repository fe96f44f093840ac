"""Logging in through a real identity provider, in a real browser (issue 14, items 1-3, 7).

A local OpenID Connect issuer (`oidc-provider-mock`: authlib's provider, a real server in a
thread, with its own signing key, discovery and JWKS) and the service with its wallboard
(`surveillance.live`, configured by an `[auth]` section as `surveillance run` reads it) run
for the module; headless Chromium goes through the real redirect flow: the wallboard sends
it to the issuer, a user is chosen on the issuer's own page, the issuer sends it back with a
code, the wallboard exchanges it (PKCE, client secret) and checks the ID token.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Browser, Page, expect

from scoring import ChartSet
from tests.mqtt_broker import Mosquitto
from tests.wallboard.test_browser import (  # the browser fixtures are shared with that module
    _CSP_WATCH,
    HIGH,
    WALL,
    LiveSystem,
    Scenario,
    _free_port,
    browser,  # noqa: F401  (a fixture)
    playwright,  # noqa: F401
    screenshot,
    tile,
)
from wallboard import DisplayRegistry

WARD = f"LG{uuid.uuid4().hex[:4].upper()}"
OTHER = f"LO{uuid.uuid4().hex[:4].upper()}"

USERS = [
    User(sub="nurse-sam", claims={"name": "Sam Patel", "groups": ["ward-nurses"]}),
    User(sub="nurse-kim", claims={"name": "Kim Other", "groups": ["other-nurses"]}),
    User(sub="nobody-lee", claims={"name": "Lee Norole", "groups": ["kitchen"]}),
]

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs Chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread(port=0, user_claims=USERS) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def system(
    mosquitto: Mosquitto,
    charts: ChartSet,
    issuer: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveSystem]:
    workdir = tmp_path_factory.mktemp("login")
    secret = workdir / "client-secret"
    secret.write_text("a-client-secret\n")
    port = _free_port()
    auth: dict[str, Any] = {
        "issuer": issuer,
        "client_id": "wallboard-test",
        "client_secret_file": str(secret),
        "redirect_url": f"http://127.0.0.1:{port}/auth/callback",
        "roles": [
            {"value": "ward-nurses", "role": "nurse", "wards": [WARD]},
            {"value": "other-nurses", "role": "nurse", "wards": [OTHER]},
        ],
        "displays": str(workdir / "displays.json"),
    }
    running = LiveSystem(mosquitto, charts, workdir, auth=auth, http_port=port)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[Any]:  # noqa: F811  (the fixture imported above)
    made = browser.new_context(viewport=WALL, locale="en-GB", timezone_id="Europe/London")
    made.add_init_script(_CSP_WATCH)
    yield made
    made.close()


def log_in(page: Page, issuer: str, who: str) -> None:
    """On the issuer's own authorization page: choose the predefined user `who`."""
    expect(page).to_have_url(re.compile(re.escape(issuer) + r"/oauth2/authorize\?"))
    page.get_by_role("button", name=who, exact=True).click()


def scene_with_alert(system: LiveSystem, ward: str) -> Scenario:
    scene = Scenario(ward, {"2": f"P{uuid.uuid4().hex[:6]}"})
    system.publish(scene.admit("2"), scene.obs("2", HIGH))
    return scene


def audit(system: LiveSystem, ward: str, state: str) -> list[dict[str, Any]]:
    with sqlite3.connect(system.workdir / "wallboard.db") as db:
        rows = db.execute(
            "SELECT event FROM alert_events WHERE ward = ? AND state = ?", (ward, state)
        ).fetchall()
    return [msgspec.json.decode(row[0]) for row in rows]


def test_a_nurse_logs_in_at_the_identity_provider_and_is_named_by_it_in_the_audit(
    system: LiveSystem, issuer: str, context: Any
) -> None:
    scene_with_alert(system, WARD)
    page = context.new_page()
    page.goto(f"{system.url}/wards/{WARD}")
    log_in(page, issuer, "nurse-sam")
    expect(page).to_have_url(f"{system.url}/wards/{WARD}")
    expect(page.locator("#session-name")).to_have_text("Sam Patel")
    expect(page.locator("#mode-banner")).to_have_count(0)  # a real login: no banner
    expect(page.locator(".who-line")).to_be_hidden()  # no name box: the login names who acts
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    session = cookies["wb_session"]
    assert (session["httpOnly"], session["sameSite"]) == (True, "Lax")
    assert "access_token" not in str(cookies)

    chip = tile(page, "2").locator(".alert-chip")
    expect(chip.get_by_role("button", name="Acknowledge")).to_be_visible(timeout=10_000)

    # The attack of issue 14: a page on another site posts a text/plain form at the ack URL
    # through this browser. Refused (and SameSite keeps the session cookie out of it).
    alert_id = chip.get_attribute("data-alert-id")
    attacker = context.new_page()
    attacker.goto(f"{issuer}/")
    attacker.set_content(
        f'<form method="post" enctype="text/plain" action="{system.url}/api/alerts/{alert_id}/ack">'
        '<input name=\'{"by": "forged", "x": "\' value=\'"}\'></form>'
    )
    with attacker.expect_navigation() as forged:
        attacker.evaluate("document.forms[0].submit()")
    assert forged.value is not None
    assert forged.value.status == 403

    chip.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#who-dialog")).to_be_hidden()
    expect(chip).to_contain_text(f"acknowledged by Sam Patel (nurse on {WARD})")
    screenshot(page, "ward-logged-in")
    system.wait_for(
        "the acknowledgement in the store", lambda: bool(audit(system, WARD, "acknowledged"))
    )
    [event] = audit(system, WARD, "acknowledged")
    assert event["by"] == f"Sam Patel (nurse on {WARD})"
    assert event["identity"] == {
        "subject": "nurse-sam",
        "issuer": issuer,
        "name": "Sam Patel",
        "role": f"nurse on {WARD}",
    }

    # Logging out ends the session on the server: the old cookie opens nothing.
    page.locator("#logout").click()
    expect(page).to_have_url(re.compile(re.escape(issuer)))
    stale = httpx.get(
        f"{system.url}/api/wards/{WARD}", cookies={"wb_session": session["value"]}, timeout=5
    )
    assert stale.status_code == 401


def test_a_nurse_of_another_ward_can_neither_see_nor_act_on_this_one(
    system: LiveSystem, issuer: str, context: Any
) -> None:
    page = context.new_page()
    page.goto(f"{system.url}/wards/{OTHER}")
    log_in(page, issuer, "nurse-kim")
    expect(page.locator("#session-name")).to_have_text("Kim Other")
    refused = page.goto(f"{system.url}/wards/{WARD}")
    assert refused is not None
    assert refused.status == 403
    page.goto(f"{system.url}/wards/{OTHER}")
    status = page.evaluate(
        """async (ward) => {
             const me = await (await fetch("/auth/me")).json();
             const snapshot = await fetch(`/api/wards/${ward}`);
             const outreach = await fetch("/outreach");
             const ack = await fetch("/api/alerts/any/ack", {method: "POST",
               headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf}, body: "{}"});
             return [snapshot.status, outreach.status, ack.status];
           }""",
        WARD,
    )
    assert status == [403, 403, 404]  # an unknown alert; a real one of WARD: next test


def test_a_person_with_no_role_on_any_ward_is_refused_after_logging_in(
    system: LiveSystem, issuer: str, context: Any
) -> None:
    page = context.new_page()
    page.goto(f"{system.url}/")
    log_in(page, issuer, "nobody-lee")
    expect(page.get_by_role("alert")).to_contain_text("no role on any ward")
    assert "wb_session" not in {cookie["name"] for cookie in context.cookies()}


def test_a_wall_screen_views_steps_up_to_act_and_drops_back_then_is_revoked(
    system: LiveSystem, issuer: str, context: Any
) -> None:
    registry = DisplayRegistry(system.workdir / "displays.json")
    display_id, code = registry.enrol(WARD, "nurses' station")
    scene_with_alert(system, WARD)
    page = context.new_page()
    page.goto(f"{system.url}/auth/display/enrol?code={code}")
    expect(page).to_have_url(f"{system.url}/wards/{WARD}")
    expect(page.locator("#session")).to_have_text("Wall screen · view only")
    expect(page.locator("html[data-stream=live]")).to_have_count(1, timeout=10_000)
    chip = tile(page, "2").locator(".alert-chip").filter(has_not_text="acknowledged by")
    expect(chip.get_by_role("button", name="Acknowledge")).to_be_visible(timeout=10_000)
    # A display's own POST is refused, whatever it sends.
    status = page.evaluate(
        """async (id) => (await fetch(`/api/alerts/${id}/ack`, {method: "POST",
             headers: {"Content-Type": "application/json", "X-CSRF-Token": "x"}, body: "{}"})).status""",
        chip.get_attribute("data-alert-id"),
    )
    assert status == 403

    chip.get_by_role("button", name="Acknowledge").click()  # asks for a personal login
    log_in(page, issuer, "nurse-sam")
    expect(page).to_have_url(f"{system.url}/wards/{WARD}")
    expect(page.locator("#logout")).to_have_text("Done (back to display)")
    chip.get_by_role("button", name="Acknowledge").click()
    # Acted: the page drops back to display mode, and shows who acted.
    expect(page.locator("#session")).to_have_text("Wall screen · view only", timeout=10_000)
    expect(tile(page, "2").locator(".alert-chip")).to_contain_text("acknowledged by Sam Patel")
    assert "wb_session" not in {cookie["name"] for cookie in context.cookies()}

    # Revoked: the open websocket is closed within seconds, and the page goes to the login.
    assert registry.revoke(display_id)
    expect(page).to_have_url(re.compile(re.escape(issuer)), timeout=15_000)
