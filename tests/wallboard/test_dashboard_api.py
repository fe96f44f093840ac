"""`GET /api/dashboard` (issue 16 item 4): the wallboard serves the dashboard the service injects
(`StoreHistory.dashboard` over a real SQLite store here), as JSON or CSV, and refuses a request
it cannot answer with a 400 that says which parameter and why. Who may ask is walked in
`test_routes_auth.py`; the page itself in `test_dashboard_browser.py`."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scoring import LONDON
from surveillance import DASHBOARD_MAX_DAYS, StoreHistory, dashboard_window
from surveillance.dashboard import CSV_COLUMNS, MEASURE_IDS, compute_dashboard
from surveillance.store import open_store
from tests.surveillance.dashboard.builder import T0, Hospital, at
from tests.surveillance.dashboard.test_measures import three_patients
from wallboard import Auth, BrokerFeed, create_app

NOW = T0 + timedelta(days=7)  # the server's clock
WEEK = "since=2026-11-02T00:00:00Z&until=2026-11-09T00:00:00Z"


def _hospital() -> Hospital:
    h = Hospital()
    three_patients(h)
    h.event("P2", "A", "fall", at(40))
    return h


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as store:
            await store.write(_hospital().batch)

    asyncio.run(write())
    return url


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    history = StoreHistory(LONDON, clock=lambda: NOW)
    app = create_app(
        BrokerFeed("127.0.0.1", 1),
        auth=Auth.without_login("none"),
        history=history,
        dashboard=history.dashboard,
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


async def _expected(url: str, since: datetime, until: datetime, **options: object) -> bytes:
    async with open_store(url) as store:
        rows = await store.dashboard_rows(since, until)
    return compute_dashboard(rows, since=since, until=until, tz=LONDON, **options).to_json()  # type: ignore[arg-type]


def test_the_hospital_as_json_is_the_dashboard_of_the_store(client: TestClient, store_url: str):
    response = client.get(f"/api/dashboard?period=day&{WEEK}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    expected = asyncio.run(_expected(store_url, T0, NOW, period="day"))
    assert response.content == expected
    body = response.json()
    assert body["scopes"] == ["A", "B", "hospital"]
    assert {m["id"] for m in body["measures"]} == MEASURE_IDS


def test_one_ward_with_the_hospital_beside_it(client: TestClient, store_url: str):
    response = client.get(f"/api/dashboard?ward=B&period=week&{WEEK}")
    assert response.status_code == 200, response.text
    assert response.json()["scopes"] == ["B", "hospital"]
    expected = asyncio.run(_expected(store_url, T0, NOW, period="week", wards=["B"]))
    assert response.content == expected


def test_csv_is_every_charts_numbers_as_a_download(client: TestClient):
    response = client.get(f"/api/dashboard?ward=A&period=day&{WEEK}&format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="dashboard-A-day.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    series = [r for r in rows if r["section"] == "series"]
    assert len(series) == len(MEASURE_IDS) * 2 * 7  # every measure, A and hospital, 7 days
    falls = [r for r in series if r["measure"] == "fall_per_1000_bed_days" and r["scope"] == "A"]
    assert [r["numerator"] for r in falls] == ["0", "1", "0", "0", "0", "0", "0"]


def test_a_ward_name_cannot_reach_the_download_name(client: TestClient):
    response = client.get(f'/api/dashboard?ward=A"; x=../y&{WEEK}&format=csv')
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="dashboard-A___x_.._y-week.csv"'
    )


def test_the_default_window_is_the_28_days_before_now(client: TestClient):
    body = client.get("/api/dashboard?period=week").json()
    assert (body["since"], body["until"]) == ("2026-10-12T00:00:00Z", "2026-11-09T00:00:00Z")


def test_a_date_without_an_offset_is_the_hospitals_midnight(client: TestClient):
    body = client.get("/api/dashboard?since=2026-11-03&until=2026-11-05").json()
    assert (body["since"], body["until"]) == ("2026-11-03T00:00:00Z", "2026-11-05T00:00:00Z")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("period=fortnight", "`period` is 'fortnight': expected one of day, week, month"),
        ("format=xml", "`format` is 'xml': expected one of json, csv"),
        ("since=yesterday", "`since` is 'yesterday': expected an ISO 8601 date or time"),
        ("until=2026-13-01", "`until` is '2026-13-01': expected an ISO 8601 date or time"),
        (
            "since=2026-11-09&until=2026-11-02",
            "the window is empty: `since` 2026-11-09 is not before `until` 2026-11-02",
        ),
        (
            "since=2026-11-02T00:00Z&until=2026-11-09",
            "`since` and `until` must both have a UTC offset, or neither",
        ),
        (
            "period=day&since=2026-01-01&until=2026-11-01",
            "the window is 304 days: by day at most 93 days",
        ),
        ("period=week&since=2020-01-01", "by week at most 732 days"),
        ("ward=" + "W" * 101, "`ward` is 'WWWW"),
        ("until=0001-01-02", "is too early: no window before it"),
        ("since=9999-12-31", "the window is empty"),
        (
            "since=0001-01-01T00:00:00%2B23:59",
            "`since` is '0001-01-01T00:00:00+23:59': out of range",
        ),
    ],
)
def test_a_bad_parameter_is_a_clear_400(client: TestClient, query: str, says: str):
    response = client.get(f"/api/dashboard?{query}")
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"]


def test_without_a_store_it_says_503():
    app = create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"))
    with TestClient(app) as test_client:
        response = test_client.get("/api/dashboard")
    assert response.status_code == 503
    assert response.json()["detail"] == "this wallboard server has no store: no dashboard to show"


def test_a_failing_store_is_a_503_that_quotes_nothing():
    async def broken(
        ward: str | None,
        period: str,
        since: datetime | None,
        until: datetime | None,
        form: str,
    ) -> bytes:
        raise RuntimeError("row P1 Jane Smith")

    app = create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"), dashboard=broken)
    with TestClient(app) as test_client:
        response = test_client.get("/api/dashboard")
    assert response.status_code == 503
    assert "Jane" not in response.text


def test_a_store_not_open_yet_is_a_503():
    history = StoreHistory(LONDON, clock=lambda: NOW)
    app = create_app(
        BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"), dashboard=history.dashboard
    )
    with TestClient(app) as test_client:
        assert test_client.get("/api/dashboard").status_code == 503


# ---- the window's defaults and limits (pure) ---------------------------------------------


def test_the_window_in_summer_time_is_read_in_the_hospitals_zone():
    start, end, period = dashboard_window(
        datetime(2026, 7, 1), datetime(2026, 7, 8), "day", NOW, LONDON
    )
    assert (start, end, period) == (
        datetime(2026, 6, 30, 23, tzinfo=UTC),
        datetime(2026, 7, 7, 23, tzinfo=UTC),
        "day",
    )


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_the_longest_window_of_each_period_is_drawn_and_a_day_more_is_not(period: str):
    most = DASHBOARD_MAX_DAYS[period]
    dashboard_window(NOW - timedelta(days=most), NOW, period, NOW, LONDON)
    with pytest.raises(ValueError, match=f"at most {most} days"):
        dashboard_window(NOW - timedelta(days=most + 1), NOW, period, NOW, LONDON)


def test_only_until_given_the_window_is_the_28_days_before_it():
    until = datetime(2026, 3, 1, tzinfo=UTC)
    assert dashboard_window(None, until, "week", NOW, LONDON)[0] == until - timedelta(days=28)
