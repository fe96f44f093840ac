"""What the wallboard's error responses tell the caller (review of issue 14).

The history and report 503s handed the caller `{error}` verbatim (the store's user, host, port
and database, as StoreError names the store, or whatever a failing read quoted, a patient id
included) after b85b2c2 had taken it out of the log; 7779326 took it out of the responses.
Served `--auth none` here (anyone may read).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from surveillance.store import PostgresStore, StoreError
from wallboard import Auth, BrokerFeed, create_app

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PATIENT = "NHS9434765919"
STORE = "postgresql://svc_surveillance@db-ward.internal.example:5432/wards"


class FailingHistory:
    """A store that fails as a store does: with a message of its own."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def scores(self, patient_id: str, since: datetime, *, viewer: str) -> list[Any]:
        raise self.error

    async def alerts(self, patient_id: str, since: datetime, *, viewer: str) -> list[Any]:
        raise self.error

    async def events(self, patient_id: str, since: datetime, *, viewer: str) -> list[Any]:
        raise self.error

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> Any:
        raise self.error


def errors() -> list[Any]:
    # The text PostgresStore gives a failed connection: its own (redacted) URL, then the cause.
    down = StoreError(f"cannot connect to PostgreSQL at {PostgresStore(STORE).url}: refused")
    return [
        pytest.param(down, id="store-down"),
        pytest.param(KeyError(PATIENT), id="a-bug-quoting-the-patient"),
    ]


async def bodies(error: Exception) -> list[str]:
    feed = BrokerFeed("127.0.0.1", 1, clock=lambda: T0 + timedelta(minutes=5))  # never started
    adt = {"msg_id": "a1", "time": T0.isoformat(), "event": "admit", "patient_id": PATIENT}
    feed.handle("wards/7A/beds/12/adt", msgspec.json.encode(adt | {"cohort": "adult"}))
    app = create_app(feed, auth=Auth.without_login("none"), history=FailingHistory(error))
    transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
        history = await client.get("/api/wards/7A/beds/12/history")
        report = await client.get("/api/report")
    assert (history.status_code, report.status_code) == (503, 503)
    return [history.text, report.text]


@pytest.mark.parametrize("error", errors())
async def test_a_failed_read_tells_the_caller_nothing_the_error_said(error: Exception) -> None:
    for body in await bodies(error):
        for secret in (PATIENT, "svc_surveillance", "db-ward.internal"):
            assert secret not in body, body
