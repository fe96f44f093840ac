"""`GET /dashboard/report` (issue 16 item 5) and the dashboard's targets from the settings
(item 2), served by the wallboard from the service's store (`StoreHistory` over a real SQLite
store). Who may ask is also walked, with every visitor, in `test_routes_auth.py`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scoring import LONDON
from surveillance import StoreHistory, dashboard_report, load_settings
from surveillance.store import open_store
from tests.surveillance.dashboard.builder import T0, Hospital, at
from tests.surveillance.dashboard.test_measures import three_patients
from tests.wallboard.test_routes_auth import Board, board  # noqa: F401 (the walk's fixture)
from wallboard import Auth, BrokerFeed, create_app

NOW = T0 + timedelta(days=7)  # the server's clock: 9 November 2026
WEEK = "since=2026-11-02T00:00:00Z&until=2026-11-09T00:00:00Z"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    h = Hospital()
    three_patients(h)
    h.event("P2", "A", "fall", at(40))
    h.event("P3", "B", "fall", at(50))
    # P1's sets on ward A, 12-hourly, some taken late: obs_on_time varies day to day
    t = at(0.5)
    for k in range(13):
        h.obs("P1", "A", t, t + timedelta(hours=12))
        t += timedelta(hours=12 + (5 if k % 3 == 1 else 0))
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as store:
            await store.write(h.batch)

    asyncio.run(write())
    return url


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "service.toml"
    path.write_text("[dashboard]\ntargets = { obs_on_time = 50, aki_acknowledged = 90 }\n")
    return path


@pytest.fixture
def client(store_url: str, settings_file: Path) -> Iterator[TestClient]:
    history = StoreHistory(LONDON, clock=lambda: NOW)
    history.targets = load_settings(settings_file).dashboard.checked_targets()  # as the service
    app = create_app(
        BrokerFeed("127.0.0.1", 1),
        auth=Auth.without_login("none"),
        history=history,
        dashboard=history.dashboard,
        monthly_report=functools.partial(dashboard_report, history),
    )
    with TestClient(app) as test_client:
        portal = test_client.portal
        assert portal is not None
        stack = contextlib.AsyncExitStack()
        history.store = portal.call(stack.enter_async_context, open_store(store_url))
        try:
            yield test_client
        finally:
            portal.call(stack.aclose)


def test_the_settings_targets_reach_the_dashboard_api_with_their_assurance(client: TestClient):
    response = client.get(f"/api/dashboard?period=day&{WEEK}")
    assert response.status_code == 200, response.text
    measures = {m["id"]: m for m in response.json()["measures"]}
    assert {k: m["target"] for k, m in measures.items() if m["target"] is not None} == {
        "obs_on_time": 50,
        "aki_acknowledged": 90,
    }
    charted = [
        s
        for s in measures["obs_on_time"]["scopes"]
        if any(p["upl"] is not None for p in s["series"])
    ]
    assert charted  # some scope has process limits, so the target is assessed against them
    for scope in charted:
        upl = next(p["upl"] for p in reversed(scope["series"]) if p["upl"] is not None)
        lpl = next(p["lpl"] for p in reversed(scope["series"]) if p["lpl"] is not None)
        expected = (
            "consistent_pass" if lpl > 50 else "consistent_fail" if upl < 50 else "inconsistent"
        )
        assert scope["assurance"] == expected
    assert all(s["assurance"] is None for s in measures["ack_minutes"]["scopes"])  # no target


class _Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def words(self) -> str:
        return " ".join(" ".join(self.parts).split())


def test_a_ward_report_is_a_page_under_the_strict_csp(client: TestClient):
    response = client.get("/dashboard/report?ward=A&month=2026-11")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "style-src" not in response.headers["content-security-policy"]  # default-src 'self'
    page = _Page(response.text)
    assert [a for t, a in page.tags if t == "link"] == [
        {"rel": "icon", "href": "/static/favicon.svg", "type": "image/svg+xml"},
        {"rel": "stylesheet", "href": "/static/report.css"},
    ]
    assert not [t for t, a in page.tags if t in ("script", "style") or "style" in a]
    words = page.words()
    assert "Ward A · November 2026" in words
    assert "provisional: the month is not over" in words  # the clock says 9 November
    assert "Data as of 9 November 2026 00:00" in words
    assert "Consistently" in words or "Hit and miss" in words  # obs_on_time's target, assessed
    assert "Falls 1 " in words  # P2's fall on ward A; P3's was on B
    assert client.get("/static/report.css").status_code == 200


def test_the_hospital_report(client: TestClient):
    response = client.get("/dashboard/report?month=2026-11&ward=")
    assert response.status_code == 200, response.text
    words = _Page(response.text).words()
    assert "Whole hospital · November 2026" in words
    assert "Falls 2 " in words


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("ward=A", "`month` is missing"),
        ("ward=A&month=", "`month` is missing"),
        ("ward=A&month=2026-1", "`month` is '2026-1': expected YYYY-MM"),
        ("ward=A&month=November", "expected YYYY-MM"),
        ("ward=A&month=2026-13", "13 is not a month"),
        ("ward=A&month=0001-12", "the dashboard's calendar starts in 0002"),
        ("ward=A&month=2026-12", "has not begun yet"),  # the clock says 9 November
        ("ward=A&month=9999-01", "ends in 9997"),
        (f"ward={'W' * 101}&month=2026-11", "at most 100 characters"),
    ],
)
def test_a_report_that_cannot_be_made_is_a_400_with_the_reason(
    client: TestClient, query: str, said: str
):
    response = client.get(f"/dashboard/report?{query}")
    assert response.status_code == 400
    assert said in response.json()["detail"]


def test_without_a_store_the_report_is_503(store_url: str):
    app = create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"))
    with TestClient(app) as plain:
        response = plain.get("/dashboard/report?ward=A&month=2026-11")
    assert response.status_code == 503


def test_who_may_see_a_report(board: Board):  # noqa: F811
    # a page: the anonymous go to the login (and come back), others are told why not
    anonymous = board.as_("anonymous").get("/dashboard/report?ward=7A&month=2026-11")
    assert anonymous.status_code == 302
    assert anonymous.headers["location"].startswith("/auth/login?next=/dashboard/report")
    for visitor in ("nurse-7A", "nurse-7B", "display-7A", "doctor-7A+nurse-7B"):
        refused = board.as_(visitor).get("/dashboard/report?ward=7A&month=2026-11")
        assert refused.status_code == 403, visitor
        assert "may not dashboard on ward 7A" in refused.text
    for visitor in ("viewer-7A", "charge-7A", "outreach"):
        assert board.as_(visitor).get("/dashboard/report?ward=7A&month=2026-11").status_code == 200
    # the hospital's report needs every ward
    assert board.as_("outreach").get("/dashboard/report?month=2026-11").status_code == 200
    hospital = board.as_("viewer-7A").get("/dashboard/report?month=2026-11")
    assert hospital.status_code == 403
    assert "may not dashboard on every ward" in hospital.text
    assert board.history.reports == [("7A", "2026-11")] * 3 + [(None, "2026-11")]
