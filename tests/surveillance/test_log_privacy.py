"""Logs never carry identifiers or secrets (issue 14).

The whole pipeline runs (a real broker, the service on a real PostgreSQL, a wallboard server
with its patient view) with known patient ids and birth dates, and passwords in the broker's
and the database's URLs, through the paths that log: refused input (dead letters), a message
the wallboard cannot read, a record the database refuses as data (the spool's poison path),
and a read of a patient's history. Every log record, at DEBUG, of every logger (the project's
and its libraries'), and `/healthz`, are searched for the ids, the birth dates and the
passwords.

The dead letters hold the refused messages whole (CONTRACT §6): they are the audit trail of
what was refused, kept in the store and on `surveillance/deadletter`, not a log.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from ingest import failure_site
from scoring import ChartSet
from surveillance import live
from surveillance.store import DeadLetterRecord, PostgresStore, StoreError, open_store
from tests.mqtt_broker import Mosquitto
from tests.surveillance.store.test_store import raw
from tests.surveillance.test_pipeline import (
    HIGH,
    adt,
    obs_json,
    send,
    settings_for,
    stored,
    ward,
)

PATIENTS = ("NHS9434765919", "NHS9434765920", "NHS9434765921", "NHS9434765922")
BIRTH_DATES = ("1948-03-02", "1937-11-30")
BROKER_SECRET, DB_SECRET = "Br0kerPassw0rd!", "Db5ecretPw"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def with_password(url: str, password: str) -> str:
    """`url` with `password` for its user (the test cluster trusts local users: it is not
    checked, but it is in every URL the service is given)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{password}@{host}"))


def found_in(text: str) -> list[str]:
    secrets = (*PATIENTS, *BIRTH_DATES, BROKER_SECRET, DB_SECRET)
    return [secret for secret in secrets if secret in text]


def logged(records: list[logging.LogRecord]) -> list[str]:
    """Every record as a handler would write it: message, exception and stack."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in records]


async def test_the_pipelines_logs_carry_no_identifier_nor_secret(
    mosquitto: Mosquitto,
    charts: ChartSet,
    fresh_postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    w, pg = ward(), with_password(fresh_postgres_url, DB_SECRET)
    async with open_store(pg):  # migrated, then: the database refuses one patient's readings
        pass
    raw(
        fresh_postgres_url,
        f"ALTER TABLE observations ADD CONSTRAINT refuse CHECK (patient_id <> '{PATIENTS[2]}')",
    )
    settings = settings_for(mosquitto, pg)
    settings.broker.url = f"mqtt://scorer:{BROKER_SECRET}@{mosquitto.host}:{mosquitto.port}"
    settings.broker.prefix = f"{w}/"
    one, two, three, four = PATIENTS
    beds = f"{w}/wards/{w}/beds"
    settings.http.port = _free_port()
    async with live(settings, charts, without_login="none") as (service, url):
        assert url is not None
        await send(
            mosquitto,
            (f"{beds}/1/adt", adt(one, birth_date=BIRTH_DATES[0], sex="2", ethnicity="C")),
            (f"{beds}/1/obs", obs_json(one, f"{w}-o1", HIGH)),
            (f"{beds}/2/obs", obs_json(two, f"{w}-o2", HIGH)),  # nobody admitted: refused
            (f"{beds}/3/adt", adt(two, cohort=four, birth_date=BIRTH_DATES[1])),  # bad cohort
            (f"{beds}/1/adt", adt(four, event="discharge")),  # bed 1 holds someone else
            (f"{beds}/5/obs", b'{"patient_id": "%s", "vitals": ' % three.encode()),  # not JSON
            (f"{beds}/4/adt", adt(three)),
            (f"{beds}/4/obs", obs_json(three, f"{w}-o4", HIGH)),  # the database refuses it
            retain_adt=False,
        )
        for _ in range(400):
            scorer = service.health()["scorer"]
            if scorer["store_poisoned"] >= 1 and scorer["dead_letters"] >= 4:
                break
            await asyncio.sleep(0.05)
        scorer = service.health()["scorer"]
        assert scorer["store_poisoned"] == 1, scorer  # the refusal's path was taken
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for _ in range(100):
                board = (await client.get(f"/api/wards/{w}")).json()
                if board.get("beds") and any(b["open_alerts"] for b in board["beds"]):
                    break
                await asyncio.sleep(0.05)
            viewed = await client.get(f"/api/wards/{w}/beds/1/history?hours=168")
            health = await client.get("/healthz")
    assert viewed.status_code == 200, viewed.text
    assert "patient_id" not in viewed.json()["patient"]  # only to a logged-in clinician
    letters = [d for d in await stored(fresh_postgres_url, DeadLetterRecord) if w in d.topic]
    assert len(letters) >= 4
    assert any(two in d.payload for d in letters)  # the dead letters keep what was refused
    text = logged(caplog.records)
    assert any("refused 1 record(s) of a batch as data" in line for line in text)
    assert any("ignored" in line and "/3/adt" in line for line in text)  # the bad cohort
    leaked = [(found_in(line), line) for line in text if found_in(line)]
    assert leaked == []
    assert found_in(health.text) == []
    assert found_in(settings.describe()) == []  # what `surveillance run` logs at start


def test_a_database_error_is_described_without_its_data(fresh_postgres_url: str) -> None:
    """PostgreSQL's DETAIL quotes the failing row, and its message the value it cannot read."""
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (patient_id text CHECK (patient_id <> 'NHS9434765919'))")
        errors: list[psycopg.Error] = []
        for statement in (
            "INSERT INTO t VALUES ('NHS9434765919')",
            "SELECT 'NHS9434765919'::int",
        ):
            try:
                conn.execute(statement.encode())
            except psycopg.Error as error:
                errors.append(error)
    check, cast = errors
    assert "NHS9434765919" in str(check)
    assert "NHS9434765919" in str(cast)  # so the test can fail
    assert (
        PostgresStore.describe(check)
        == "CheckViolation, SQLSTATE 23514 (table t, constraint t_patient_id_check)"
    )
    assert PostgresStore.describe(cast) == "InvalidTextRepresentation, SQLSTATE 22P02"


async def test_a_store_error_names_no_password_and_no_row(fresh_postgres_url: str) -> None:
    pg = with_password(fresh_postgres_url, DB_SECRET)
    async with open_store(pg) as store:
        raw(fresh_postgres_url, "ALTER TABLE labs ADD CONSTRAINT refuse CHECK (value < 1000)")
        from tests.surveillance.store.test_store import lab  # noqa: PLC0415

        bad = lab(1)
        with pytest.raises(StoreError) as info:
            await store.write(_batch_with(bad, 5000.0))
    assert "5000" not in str(info.value)
    assert "P1" not in str(info.value)
    assert "labs" in str(info.value)
    assert DB_SECRET not in str(info.value) + repr(store)


def _batch_with(record: Any, value: float) -> Any:
    from dataclasses import replace  # noqa: PLC0415

    from surveillance.store import Batch  # noqa: PLC0415

    return Batch(labs=[replace(record, value=value)])


def test_a_failure_is_logged_by_where_it_was_raised_not_by_what_it_said() -> None:
    def look_up(patients: dict[str, int], patient_id: str) -> int:
        return patients[patient_id]

    try:
        try:
            look_up({}, "NHS9434765919")
        except KeyError as error:
            raise RuntimeError(f"no state for {error}") from error
    except RuntimeError as error:
        site = failure_site(error)
    assert "NHS9434765919" not in site
    assert site.startswith("RuntimeError raised at test_log_privacy.py:")
    assert "; from KeyError raised at test_log_privacy.py:" in site
    assert "in look_up" in site
    assert Path(__file__).name in site
