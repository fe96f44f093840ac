"""Issue 16, "done when": on a simulated month of four wards the dashboard finds an inequity the
simulator was told to build in, and does not find it in the same month without.

The pipeline (`tests/surveillance/inequity_month.py`): `surveillance simulate` with SpO2
over-reading for Black and Asian patients (a London catchment, so that the groups are large
enough), replayed offline through the real scorer with simulated staff answering its alerts,
stored in SQLite, read back and put through the dashboard's equity table. With the inequity,
Black patients' score alerts per 100 patient-days fall below the hospital's (the 95 % interval
excludes it); with the same seed and no inequity they do not. How often this holds over seeds
(the power) is `bench/equity_power`'s to measure, not this test's: this is one seeded month.

The command line's part (`surveillance evaluate --store --answer-alerts`, then `surveillance
dashboard --store`) is checked on a short recording, as a user runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import ChartSet
from tests.surveillance.inequity_month import MEASURE, flags, month

SEED = 101


def test_the_dashboard_flags_the_group_whose_oximeters_over_read(
    charts: ChartSet, tmp_path: Path
) -> None:
    biased = month(charts, tmp_path, seed=SEED, inequity=("spo2-overread",))
    fair = month(charts, tmp_path, seed=SEED)
    found = {(f.group, f.side) for f in flags(biased)}
    control = {(f.group, f.side) for f in flags(fair)}
    assert ("Black", "low") in found, flags(biased)
    assert not any(group == "Black" for group, _ in control), flags(fair)
    # the month is a month of four wards, and the groups are not suppressed
    m = next(m for m in biased.measures if m.id == MEASURE)
    hospital = next(s for s in m.scopes if s.scope == "hospital")
    assert len(m.scopes) == 5  # four wards and the hospital
    assert hospital.denominator > 3000  # patient-days
    black = next(r for r in hospital.equity if r.dimension == "ethnicity" and r.group == "Black")
    assert isinstance(black.numerator, float | int)  # not suppressed
    assert black.numerator > 7


CLI = [sys.executable, "-m", "surveillance.cli"]


def surveillance(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.process
def test_evaluate_stores_what_it_scored_and_the_dashboard_reads_it(tmp_path: Path) -> None:
    recording, db = tmp_path / "ward.jsonl.gz", tmp_path / "store.db"
    done = surveillance(
        "simulate", "--wards", "2", "--beds", "10", "--hours", "48", "--seed", "3",
        "--mode", "manual", "--catchment", "london", "--no-progress", "--record", recording,
        "--start", "2026-11-02T07:00:00Z",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = surveillance("evaluate", recording, "--no-model", "--answer-alerts")
    assert refused.returncode == 2
    assert "--answer-alerts needs --store" in refused.stderr
    plain = surveillance("evaluate", recording, "--no-model", "--json", "--no-progress")
    stored = surveillance(
        "evaluate", recording, "--no-model", "--json", "--no-progress",
        "--store", f"sqlite:///{db}", "--answer-alerts",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert json.loads(stored.stdout) == json.loads(plain.stdout)  # the figures do not change
    board = surveillance(
        "dashboard", "--store", f"sqlite:///{db}", "--since", "2026-11-02T07:00:00Z",
        "--until", "2026-11-04T07:00:00Z", "--period", "day",
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    measures = {m["id"]: m for m in json.loads(board.stdout)["measures"]}
    hospital = {
        key: next(s for s in m["scopes"] if s["scope"] == "hospital") for key, m in measures.items()
    }
    assert hospital["obs_on_time"]["denominator"] > 50  # nurses' sets due, from the scores
    assert hospital["alerts_score_per_100_patient_days"]["numerator"] > 0
    assert hospital["ack_minutes"]["numerator"] > 0  # the simulated staff acknowledged
    assert hospital["senior_review_minutes"]["denominator"] > 0  # and reviews were stored
    two = surveillance("evaluate", recording, recording, "--store", f"sqlite:///{db}")
    assert two.returncode == 2
    assert "one recording" in two.stderr


@pytest.mark.process
def test_evaluate_stores_one_recording_into_a_store_and_again_but_never_another(
    tmp_path: Path,
) -> None:
    # Simulated patient ids repeat across seeds (P01001000 in each): a second recording written
    # into the same store was taken for the same patients (another birth date, another bed)
    # and the dashboard read the two as one hospital. The same recording again is harmless.
    db = f"sqlite:///{tmp_path / 'store.db'}"
    recordings = [tmp_path / f"seed{seed}.jsonl.gz" for seed in (3, 4)]
    for seed, recording in zip((3, 4), recordings, strict=True):
        done = surveillance(
            "simulate", "--wards", "1", "--beds", "4", "--hours", "12", "--seed", str(seed),
            "--mode", "manual", "--no-progress", "--record", recording,
            "--start", "2026-11-02T07:00:00Z",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    first = surveillance("evaluate", recordings[0], "--no-model", "--no-progress", "--store", db)
    assert first.returncode == 0, first.stderr
    again = surveillance("evaluate", recordings[0], "--no-model", "--no-progress", "--store", db)
    assert again.returncode == 0, again.stderr
    other = surveillance("evaluate", recordings[1], "--no-model", "--no-progress", "--store", db)
    assert other.returncode == 2
    assert "another recording" in other.stderr
    fresh = f"sqlite:///{tmp_path / 'other.db'}"
    alone = surveillance("evaluate", recordings[1], "--no-model", "--no-progress", "--store", fresh)
    assert alone.returncode == 0, alone.stderr
