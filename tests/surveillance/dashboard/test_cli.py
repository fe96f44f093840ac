"""`surveillance dashboard`: the measures from a store as JSON or CSV; bad options, targets and
stores are clear errors with exit status 2."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from surveillance.cli import main
from surveillance.dashboard import CSV_COLUMNS, MEASURE_IDS
from surveillance.store import open_store
from tests.surveillance.dashboard.builder import Hospital, at
from tests.surveillance.dashboard.test_measures import three_patients
from tests.surveillance.dashboard.test_set_aside import _poison

WINDOW = ["--since", "2026-11-02T00:00Z", "--until", "2026-11-09T00:00Z"]


@pytest.fixture
def store(tmp_path: Path) -> str:
    h = Hospital()
    three_patients(h)
    h.event("P2", "A", "fall", at(40))
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as s:
            await s.write(h.batch)

    asyncio.run(write())
    return url


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["dashboard", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_by_day(store, capsys):
    status, out, err = run(capsys, "--store", store, *WINDOW, "--period", "day")
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert document["scopes"] == ["A", "B", "hospital"]
    assert {m["id"] for m in document["measures"]} == MEASURE_IDS
    falls = next(m for m in document["measures"] if m["id"] == "fall_per_1000_bed_days")
    a = falls["scopes"][0]
    assert (a["numerator"], a["denominator"]) == (1, 11)
    assert [p["numerator"] for p in a["series"]] == [0, 1, 0, 0, 0, 0, 0]
    assert falls["unit"] == "per 1,000 bed-days"
    assert falls["improvement"] == "decrease"


def test_csv_for_one_ward_with_targets(store, capsys, tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text("[targets]\nfall_per_1000_bed_days = 50\nobs_on_time = 95\n")
    status, out, err = run(
        capsys,
        "--store",
        store,
        *WINDOW,
        "--ward",
        "A",
        "--format",
        "csv",
        "--targets",
        str(targets),
    )
    assert (status, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert {r["scope"] for r in rows} == {"A", "hospital"}
    weekly = [
        r for r in rows if r["section"] == "series" and r["measure"] == "fall_per_1000_bed_days"
    ]
    assert [(r["scope"], r["period"], r["numerator"], r["denominator"]) for r in weekly] == [
        ("A", "2026-11-02", "1", "11"), ("hospital", "2026-11-02", "1", "13")
    ]  # fmt: skip
    equity = [r for r in rows if r["section"] == "equity" and r["measure"] == "fall_per_1000_bed_days"
              and r["scope"] == "A" and r["dimension"] == "ethnicity"]  # fmt: skip
    assert [r["group"] for r in equity][-2:] == ["not stated", "not known"]
    assert {r["numerator"] for r in equity} <= {"0", "*"}


def test_a_ward_name_is_never_a_spreadsheet_formula(capsys, tmp_path):
    """A ward's name comes from an ADT topic: one that starts like a formula (`=`, `+`, `-`,
    `@`) would run in the spreadsheet the CSV is opened in; it is written as text."""
    h = Hospital()
    h.admit("P1", '=HYPERLINK("http://x")', at(0), sex="1")
    h.admit("P2", "-2+3", at(0), sex="1")
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as s:
            await s.write(h.batch)

    asyncio.run(write())
    status, out, err = run(capsys, "--store", url, *WINDOW, "--format", "csv")
    assert (status, err) == (0, "")
    scopes = {r["scope"] for r in csv.DictReader(io.StringIO(out))}
    assert scopes == {'\'=HYPERLINK("http://x")', "'-2+3", "hospital"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-11-09", "--until", "2026-11-02"], "window is empty"),
        (["--since", "yesterday"], "not an ISO 8601 time"),
        (["--days", "0"], "--days"),
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        # times a calendar cannot be read around: a clear error, not a traceback
        (["--since", "0001-01-01T00:00Z", "--until", "0001-02-01T00:00Z"], "out of range"),
        (["--until", "0001-01-02T00:00Z"], "out of range"),
        (["--since", "9999-12-01T00:00Z", "--until", "9999-12-31T23:59Z"], "out of range"),
        # a window of millennia by day would hold the machine for minutes and gigabytes
        (["--since", "1900-01-01T00:00Z", "--until", "2900-01-01T00:00Z"], "at most 3660 days"),
    ],
)
def test_bad_options(store, capsys, args, message):
    status, out, err = run(capsys, "--store", store, *args)
    assert (status, out) == (2, "")
    assert message in err


def test_bad_targets(store, capsys, tmp_path):
    for text, message in (("x = ", "not TOML"), ("nonsense = 1", "unknown measure"),
                          ("obs_on_time = 'high'", "not a finite number")):  # fmt: skip
        targets = tmp_path / "t.toml"
        targets.write_text(text)
        status, out, err = run(capsys, "--store", store, *WINDOW, "--targets", str(targets))
        assert (status, out) == (2, "")
        assert message in err


def test_a_missing_store_file_is_not_created(capsys, tmp_path):
    missing = tmp_path / "nothing.db"
    status, out, err = run(capsys, "--store", f"sqlite:///{missing}", *WINDOW)
    assert (status, out) == (2, "")
    assert "no store" in err
    assert not missing.exists()


def test_a_patient_set_aside_is_counted_as_the_service_counts_it(capsys, tmp_path):
    """The command refreshes first; a patient whose items cannot be made is set aside, and
    the JSON says so (`set_aside_patients`), as `GET /api/dashboard` does."""
    h = Hospital()
    three_patients(h)
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as s:
            await s.write(h.batch)
            await s.write(_poison(h))

    asyncio.run(write())
    status, out, err = run(capsys, "--store", url, *WINDOW)
    assert (status, err) == (0, "")
    found = json.loads(out)
    assert (found["set_aside_patients"], found["stale_patients"]) == (1, 0)
