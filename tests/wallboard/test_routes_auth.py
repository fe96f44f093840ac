"""Every route of the wallboard, walked by every kind of visitor (issue 14, items 1-3).

The routes are enumerated from the app itself (`app.routes`): a route added later without a
row here fails `test_the_walk_covers_every_route`, so none can be forgotten. Each visitor is
a real credential the server checks (a session cookie, an enrolled screen's cookie, nothing);
the identity provider is not needed here (the login itself is tested in `test_login.py`).
The broker is the one edge replaced: `publish_action` records the command instead of sending.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from ingest import AlertCommand
from tests.wallboard.test_state import adt, alert, score
from wallboard import (
    DISPLAY_COOKIE,
    SESSION_COOKIE,
    Auth,
    AuthConfig,
    BrokerFeed,
    ClaimRule,
    DisplayRegistry,
    Grant,
    OidcClient,
    Principal,
    RoleMapping,
    create_app,
)

ORIGIN = "http://wallboard.test"
ISSUER = "https://idp.test"


class _NoHistory:
    """The store's history, empty; it keeps who read whose history (the audit's `viewer`)."""

    def __init__(self) -> None:
        self.viewers: list[tuple[str, str]] = []
        self.dashboards: list[str | None] = []
        self.reports: list[tuple[str | None, str]] = []

    async def scores(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.viewers.append((viewer, patient_id))
        return []

    async def alerts(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.viewers.append((viewer, patient_id))
        return [{"alert_id": "a-1", "patient_id": patient_id, "state": "raised"}]

    async def events(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.viewers.append((viewer, patient_id))
        return [{"msg_id": "ev-1", "patient_id": patient_id, "event": "rrt-call"}]

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> dict[str, Any]:
        return {"total": {"raised": 0}}

    async def dashboard(
        self,
        ward: str | None,
        period: str,
        since: datetime | None,
        until: datetime | None,
        form: str,
    ) -> bytes:
        self.dashboards.append(ward)
        return b'{"scopes": [], "measures": []}'

    async def monthly_report(self, ward: str | None, month: str) -> bytes:
        self.reports.append((ward, month))
        return b"<!doctype html><title>report</title>"


def person(name: str, *grants: tuple[str, str]) -> Principal:
    return Principal(
        kind="person",
        name=name,
        subject=f"sub-{name}",
        issuer=ISSUER,
        grants=tuple(Grant(role, frozenset({ward})) for role, ward in grants),
    )


PEOPLE = {
    "nurse-7A": person("Nurse A", ("nurse", "7A")),
    "nurse-7B": person("Nurse B", ("nurse", "7B")),
    "viewer-7A": person("Clerk A", ("viewer", "7A")),
    "charge-7A": person("Sister A", ("nurse-in-charge", "7A")),
    "doctor-7A+nurse-7B": person("Dr AB", ("doctor", "7A"), ("nurse", "7B")),
    "outreach": person("Outreach RN", ("outreach", "*")),
}
VISITORS = ["anonymous", "display-7A", *PEOPLE]


@dataclass
class Board:
    app: FastAPI
    auth: Auth
    client: TestClient
    sent: list[tuple[str, str, str, AlertCommand]]
    display_credential: str
    csrf: dict[str, str]
    feed: BrokerFeed
    history: _NoHistory

    def as_(self, visitor: str) -> TestClient:
        """The client with `visitor`'s credential (and nothing else) in its cookie jar."""
        self.client.cookies.clear()
        if visitor == "display-7A":
            self.client.cookies.set(DISPLAY_COOKIE, self.display_credential)
        elif visitor in PEOPLE:
            session = self.auth.start_session(PEOPLE[visitor])
            self.client.cookies.set(SESSION_COOKIE, session.id)
            self.csrf[visitor] = session.csrf
        return self.client

    def post_headers(self, visitor: str) -> dict[str, str]:
        """What the page sends with a POST: its origin, JSON, and the session's CSRF token."""
        return {
            "Origin": ORIGIN,
            "Content-Type": "application/json",
            "X-CSRF-Token": self.csrf.get(visitor, ""),
        }


def oidc_auth(tmp_path: Path) -> Auth:
    """An `oidc` Auth whose identity provider is never called here (metadata given)."""
    return Auth(
        AuthConfig(
            mode="oidc",
            oidc=OidcClient(
                issuer=ISSUER,
                client_id="wallboard",
                client_secret="secret",  # noqa: S106  (a test's)
                redirect_url=f"{ORIGIN}/auth/callback",
                metadata={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks": {"keys": []},
                },
            ),
            mapping=RoleMapping(rules=(ClaimRule("ward-7a", "nurse", frozenset({"7A"})),)),
            allowed_origins=frozenset({ORIGIN}),
            displays=DisplayRegistry(tmp_path / "displays.json"),
        )
    )


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Board]:
    feed = BrokerFeed("127.0.0.1", 1)
    for ward, bed, patient in (("7A", "12", "P1"), ("7B", "3", "P2")):
        feed.board.apply(f"wards/{ward}/beds/{bed}/adt", adt("admit", patient, initials="JS"))
        feed.board.apply(f"wards/{ward}/beds/{bed}/score", score(patient, ward, bed))
    feed.board.apply("wards/7A/alerts", alert("a-1", "raised", patient="P1", ward="7A"))
    feed.board.apply("wards/7B/alerts", alert("b-1", "raised", patient="P2", ward="7B", bed="3"))
    sent: list[tuple[str, str, str, AlertCommand]] = []

    async def publish(ward: str, alert_id: str, action: str, command: AlertCommand) -> None:
        sent.append((ward, alert_id, action, command))

    monkeypatch.setattr(feed, "publish_action", publish)
    auth = oidc_auth(tmp_path)
    registry = auth.config.displays
    assert registry is not None
    _, code = registry.enrol("7A", "nurses' station")
    redeemed = registry.redeem(code)
    assert redeemed is not None
    history = _NoHistory()
    app = create_app(
        feed,
        auth=auth,
        history=history,
        dashboard=history.dashboard,
        monthly_report=history.monthly_report,
    )
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        yield Board(app, auth, client, sent, redeemed[1], {}, feed, history)


# What each route needs, as a sample request: (method, path, JSON body or None), and who may.
# `None` in WHO means: everyone gets the same status (given in ANYONE).
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "/static": ("GET", "/static/app.css", None),
    "/auth/login": ("GET", "/auth/login?next=/wards/7A", None),
    "/auth/callback": ("GET", "/auth/callback?code=x&state=y", None),
    "/auth/logout": ("POST", "/auth/logout", {}),
    "/auth/me": ("GET", "/auth/me", None),
    "/auth/display/enrol": ("GET", "/auth/display/enrol?code=not-a-code", None),
    "/": ("GET", "/", None),
    "/wards/{ward}": ("GET", "/wards/7A", None),
    "/wards/{ward}/beds/{bed}": ("GET", "/wards/7A/beds/12", None),
    "/outreach": ("GET", "/outreach", None),
    "/dashboard": ("GET", "/dashboard", None),
    "/api/dashboard": ("GET", "/api/dashboard?ward=7A", None),
    "/dashboard/report": ("GET", "/dashboard/report?ward=7A&month=2026-11", None),
    "/api/vocabulary": ("GET", "/api/vocabulary", None),
    "/vocabulary.js": ("GET", "/vocabulary.js", None),
    "/api/wards": ("GET", "/api/wards", None),
    "/api/wards/{ward}": ("GET", "/api/wards/7A", None),
    "/api/wards/{ward}/beds/{bed}/history": ("GET", "/api/wards/7A/beds/12/history", None),
    "/api/report": ("GET", "/api/report?ward=7A", None),
    "/api/charts/{chart_id}": ("GET", "/api/charts/news2", None),
    "/api/alerts/{alert_id}/ack": ("POST", "/api/alerts/a-1/ack", {"severity": "urgent"}),
    "/api/alerts/{alert_id}/resolve": (
        "POST",
        "/api/alerts/a-1/resolve",
        {"reason": "reviewed", "severity": "urgent"},
    ),
    "/healthz": ("GET", "/healthz", None),
    "/ws/wards/{ward}": ("WS", "/ws/wards/7A", None),
    "/ws/outreach": ("WS", "/ws/outreach", None),
}

ON_7A = {"display-7A", "nurse-7A", "viewer-7A", "charge-7A", "doctor-7A+nurse-7B", "outreach"}
PEOPLE_ON_7A = ON_7A - {"display-7A"}
EVERYONE_KNOWN = set(VISITORS) - {"anonymous"}
# The safety dashboard: the managers' role (viewer), the nurse in charge and outreach; not the
# ward's nurses and doctors, never a wall screen (issue 16; `wallboard._access`).
DASHBOARD_7A = {"viewer-7A", "charge-7A", "outreach"}


def expected(route: str, visitor: str) -> int:
    """The status `visitor` must get from `route`'s sample request (WS: 101 opened, 403 not)."""
    anonymous = visitor == "anonymous"
    page = 302 if anonymous else 403  # pages send the anonymous to the login
    api = 401 if anonymous else 403
    match route:
        case "/static":
            return 200  # code and styles, no data
        case "/auth/login":
            return 302  # to the identity provider
        case "/auth/callback":
            return 400  # no login was started here
        case "/auth/display/enrol":
            return 403  # not a code
        case "/healthz":
            return 503  # anyone; 503 as the feed has no broker here
        case "/auth/logout":
            return 200 if visitor in PEOPLE else 403  # no session: no CSRF token to pass
        case "/auth/me" | "/api/vocabulary" | "/api/wards" | "/api/charts/{chart_id}":
            return 401 if anonymous else 200
        case "/" | "/vocabulary.js":
            return 302 if anonymous else 200
        case "/wards/{ward}" | "/wards/{ward}/beds/{bed}":
            return 200 if visitor in ON_7A else page
        case "/api/wards/{ward}" | "/api/wards/{ward}/beds/{bed}/history" | "/api/report":
            return 200 if visitor in ON_7A else api
        case "/outreach":
            return 200 if visitor == "outreach" else page
        case "/dashboard" | "/dashboard/report":
            return 200 if visitor in DASHBOARD_7A else page
        case "/api/dashboard":
            return 200 if visitor in DASHBOARD_7A else api
        case "/ws/outreach":
            return 101 if visitor == "outreach" else 403
        case "/ws/wards/{ward}":
            return 101 if visitor in ON_7A else 403
        case "/api/alerts/{alert_id}/ack":
            acts = PEOPLE_ON_7A - {"viewer-7A"}
            return 202 if visitor in acts else 403
        case "/api/alerts/{alert_id}/resolve":
            return 202 if visitor in {"charge-7A", "doctor-7A+nurse-7B", "outreach"} else 403
    raise AssertionError(f"no expectation for {route}")


def _templates(app: FastAPI) -> set[str]:
    paths = set()
    for route in app.routes:
        if isinstance(route, Route | WebSocketRoute | Mount):
            paths.add(route.path)
        else:  # pragma: no cover - a kind of route this walk does not know
            paths.add(repr(route))
    return paths


def test_the_walk_covers_every_route(board: Board) -> None:
    """A route added to the app without a row here (and so without a decision) fails."""
    assert _templates(board.app) == set(ROUTES)


def _call(board: Board, visitor: str, route: str) -> int:
    method, path, body = ROUTES[route]
    client = board.as_(visitor)
    if method == "WS":
        try:
            with client.websocket_connect(path, headers={"Origin": ORIGIN}) as socket:
                first = socket.receive_json()
                assert first["type"] == "snapshot"
                return 101
        except WebSocketDisconnect as refused:
            return 403 if refused.code == 1008 else refused.code
    if method == "POST":
        response = client.post(path, json=body, headers=board.post_headers(visitor))
    else:
        response = client.get(path)
    return response.status_code


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_with_every_visitor(board: Board, route: str, visitor: str) -> None:
    assert _call(board, visitor, route) == expected(route, visitor)


def test_an_anonymous_page_goes_to_the_login_and_comes_back(board: Board) -> None:
    response = board.as_("anonymous").get("/wards/7A/beds/12?hours=6")
    assert response.headers["location"] == "/auth/login?next=/wards/7A/beds/12%3Fhours%3D6"
    login = board.as_("anonymous").get(response.headers["location"])
    assert login.status_code == 302
    assert login.headers["location"].startswith(f"{ISSUER}/authorize?")
    query = login.headers["location"]
    for part in ("response_type=code", "code_challenge_method=S256", "nonce=", "state="):
        assert part in query
    assert "code_challenge=" in query
    cookie = login.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


def test_an_open_redirect_is_not_possible(board: Board) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        login = board.as_("anonymous").get(f"/auth/login?next={target}")
        assert login.status_code == 302
    assert all(not next_.startswith("//") for next_ in [p["next"] for p in _pending(board)])


def _pending(board: Board) -> list[dict[str, Any]]:
    return [item.data for item in board.auth._pending.values()]


def test_the_action_names_the_verified_person_and_ignores_a_typed_name(board: Board) -> None:
    client = board.as_("charge-7A")
    body = {"by": "Somebody Else", "severity": "urgent"}
    response = client.post(
        "/api/alerts/a-1/ack", json=body, headers=board.post_headers("charge-7A")
    )
    assert response.status_code == 202, response.text
    [(ward, alert_id, action, command)] = board.sent
    assert (ward, alert_id, action) == ("7A", "a-1", "ack")
    assert command.by == "Sister A (nurse-in-charge on 7A)"
    assert command.identity is not None
    assert (command.identity.subject, command.identity.issuer) == ("sub-Sister A", ISSUER)
    assert command.identity.role == "nurse-in-charge on 7A"


def test_a_person_acts_only_on_their_wards(board: Board) -> None:
    headers = board.post_headers  # the token of the session made by as_
    nurse_b = board.as_("nurse-7B")
    assert (
        nurse_b.post("/api/alerts/b-1/ack", json={}, headers=headers("nurse-7B")).status_code == 202
    )
    nurse_b = board.as_("nurse-7B")
    refused = nurse_b.post("/api/alerts/a-1/ack", json={}, headers=headers("nurse-7B"))
    assert refused.status_code == 403
    assert [alert_id for _, alert_id, _, _ in board.sent] == ["b-1"]


def test_only_clinicians_of_the_ward_see_identifiers_in_the_patient_view(board: Board) -> None:
    def patient(visitor: str) -> dict[str, Any]:
        response = board.as_(visitor).get("/api/wards/7A/beds/12/history")
        assert response.status_code == 200
        body = response.json()
        # The patient's alert events and clinical events name him as the patient does.
        named = {body["patient"].get("patient_id")}
        assert {a.get("patient_id") for a in body["alerts"] + body["events"]} == named
        return dict(body["patient"])

    assert patient("nurse-7A")["patient_id"] == "P1"
    # The read is audited under the verified identity (the provider's subject and issuer).
    viewer, patient_id = board.history.viewers[-1]
    assert patient_id == "P1"
    assert viewer == f"Nurse A (nurse on 7A) sub=sub-Nurse A iss={ISSUER}"
    assert patient("outreach")["patient_id"] == "P1"
    for visitor in ("viewer-7A", "display-7A"):
        shown = patient(visitor)
        assert "patient_id" not in shown
        assert "birth_year" not in shown
        assert shown["initials"] == "JS"


def test_the_hospital_dashboard_is_for_a_grant_on_every_ward(board: Board) -> None:
    assert board.as_("outreach").get("/api/dashboard").status_code == 200
    assert board.as_("outreach").get("/api/dashboard?ward=").status_code == 200
    for visitor in ("viewer-7A", "charge-7A"):
        refused = board.as_(visitor).get("/api/dashboard")
        assert refused.status_code == 403
        assert refused.json()["detail"].endswith("may not dashboard on every ward")
        assert board.as_(visitor).get("/api/dashboard?ward=7B").status_code == 403
    assert board.history.dashboards == [None, None]  # nothing refused reached the store


def test_a_dashboard_page_refusal_says_why(board: Board) -> None:
    page = board.as_("nurse-7A").get("/dashboard")
    assert page.status_code == 403
    assert "may not dashboard" in page.text
    assert board.as_("display-7A").get("/api/dashboard?ward=7A").status_code == 403


def test_the_ward_list_is_only_the_wards_one_may_see(board: Board) -> None:
    assert board.as_("nurse-7B").get("/api/wards").json() == {"wards": ["7B"]}
    assert board.as_("display-7A").get("/api/wards").json() == {"wards": ["7A"]}
    assert board.as_("outreach").get("/api/wards").json() == {"wards": ["7A", "7B"]}


def test_a_display_can_never_act_even_with_a_token_it_could_not_have(board: Board) -> None:
    client = board.as_("display-7A")
    me = client.get("/auth/me").json()
    assert (me["kind"], me["acts"], me["csrf"]) == ("display", False, None)
    for path in ("/api/alerts/a-1/ack", "/api/alerts/a-1/resolve"):
        response = client.post(
            path, json={"reason": "x"}, headers={"Origin": ORIGIN, "X-CSRF-Token": "guess"}
        )
        assert response.status_code == 403
    assert board.sent == []


def test_a_cross_site_page_cannot_act(board: Board) -> None:
    """The attack of issue 14: a `text/plain` POST from another site through a visitor's
    browser (cookies and all). Refused whatever it tries; only the page's own request passes."""
    client = board.as_("outreach")
    csrf = board.csrf["outreach"]
    attempts = {
        "text/plain from another site": {
            "Origin": "https://evil.example",
            "Content-Type": "text/plain",
        },
        "another site with the token": {
            "Origin": "https://evil.example",
            "Content-Type": "application/json",
            "X-CSRF-Token": csrf,
        },
        "no origin": {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        "cross-site fetch metadata": {
            "Origin": ORIGIN,
            "Sec-Fetch-Site": "cross-site",
            "Content-Type": "application/json",
            "X-CSRF-Token": csrf,
        },
        "same origin, no token": {"Origin": ORIGIN, "Content-Type": "application/json"},
        "same origin, wrong token": {
            "Origin": ORIGIN,
            "Content-Type": "application/json",
            "X-CSRF-Token": csrf[:-2] + "xx",
        },
    }
    for what, headers in attempts.items():
        response = client.post("/api/alerts/a-1/ack", content=b'{"by": "x"}', headers=headers)
        assert response.status_code == 403, what
    text = client.post(
        "/api/alerts/a-1/ack",
        content=b'{"by": "x"}',
        headers={"Origin": ORIGIN, "Content-Type": "text/plain", "X-CSRF-Token": csrf},
    )
    assert text.status_code == 415
    assert board.sent == []
    ok = client.post(
        "/api/alerts/a-1/ack",
        json={},
        headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf},
    )
    assert ok.status_code == 202


def test_a_websocket_from_another_origin_is_refused(board: Board) -> None:
    client = board.as_("outreach")
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws/outreach", headers={"Origin": "https://evil.example"}),
    ):
        pass


def test_a_revoked_display_is_refused_and_its_open_websocket_closed(board: Board) -> None:
    registry = board.auth.config.displays
    assert registry is not None
    client = board.as_("display-7A")
    with client.websocket_connect("/ws/wards/7A", headers={"Origin": ORIGIN}) as socket:
        assert socket.receive_json()["type"] == "snapshot"
        [display] = registry.displays()
        assert registry.revoke(display.id)
        # The next frame (a status frame at the latest, every 2 s; here a new score, as this
        # feed has no broker and so no status loop) finds it revoked.
        portal = client.portal
        assert portal is not None
        portal.call(board.feed.handle, "wards/7A/beds/12/score", score("P1", minute=1))
        with pytest.raises(WebSocketDisconnect) as closed:
            _read_until_closed(socket)
        assert closed.value.code == 4401
    assert client.get("/api/wards/7A").status_code == 401
    assert client.get("/wards/7A").status_code == 302


def _read_until_closed(socket: Any) -> None:
    while True:
        socket.receive_json()


def test_a_logged_out_session_is_refused(board: Board) -> None:
    client = board.as_("nurse-7A")
    assert client.get("/api/wards/7A").status_code == 200
    out = client.post("/auth/logout", json={}, headers=board.post_headers("nurse-7A"))
    assert out.status_code == 200
    assert client.get("/api/wards/7A").status_code == 401


def test_an_expired_session_is_refused(board: Board) -> None:
    now = [1_000_000.0]
    board.auth.clock = lambda: now[0]
    client = board.as_("nurse-7A")
    assert client.get("/api/wards/7A").status_code == 200
    now[0] += board.auth.config.session_seconds + 1
    assert client.get("/api/wards/7A").status_code == 401


def test_a_step_up_session_is_short(board: Board) -> None:
    now = [1_000_000.0]
    board.auth.clock = lambda: now[0]
    session = board.auth.start_session(PEOPLE["nurse-7A"], stepup=True)
    board.client.cookies.clear()
    board.client.cookies.set(SESSION_COOKIE, session.id)
    board.client.cookies.set(DISPLAY_COOKIE, board.display_credential)
    me = board.client.get("/auth/me").json()
    assert (me["kind"], me["stepup"], me["display"]) == ("person", True, True)
    now[0] += board.auth.config.stepup_seconds + 1
    me = board.client.get("/auth/me").json()
    assert (me["kind"], me["acts"]) == ("display", False)  # back to display mode


def test_an_enrolment_code_works_once(tmp_path: Path) -> None:
    auth = oidc_auth(tmp_path)
    registry = auth.config.displays
    assert registry is not None
    _, code = registry.enrol("7B")
    app = create_app(BrokerFeed("127.0.0.1", 1), auth=auth)
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        first = client.get(f"/auth/display/enrol?code={code}")
        assert (first.status_code, first.headers["location"]) == (302, "/wards/7B")
        assert "httponly" in first.headers["set-cookie"].lower()
        assert client.get("/api/wards").json() == {"wards": []}  # a 7B screen, nothing seen yet
        client.cookies.clear()
        assert client.get(f"/auth/display/enrol?code={code}").status_code == 403


@pytest.mark.parametrize("mode", ["demo", "none"])
def test_without_login_every_page_is_told_and_a_cross_site_post_still_fails(mode: str) -> None:
    app = create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login(mode))  # type: ignore[arg-type]
    with TestClient(app, base_url=ORIGIN) as client:
        me = client.get("/auth/me").json()
        assert me["mode"] == mode
        assert me["banner"].startswith("DEMO – no login" if mode == "demo" else "NO LOGIN")
        forged = client.post(
            "/api/alerts/a-1/ack",
            content=b'{"by": "x"}',
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        )
        assert forged.status_code == 403
