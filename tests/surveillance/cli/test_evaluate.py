"""`surveillance evaluate` as a user runs it: a seeded simulated recording in, the CONTRACT
§11 object (or a table) out, every figure in its range."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CLI = [sys.executable, "-m", "surveillance.cli"]


def surveillance(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evaluate") / "wards.jsonl.gz"
    done = surveillance(
        "simulate", "--wards", "4", "--beds", "12", "--hours", "96", "--seed", "15",
        "--no-progress", "--record", path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def _in_range(figures: dict[str, Any]) -> None:
    for key in ("auroc", "auprc"):
        assert figures[key] is None or 0.0 <= figures[key] <= 1.0, key
    at = figures["at_threshold"]
    for key in ("sensitivity", "ppv"):
        assert at[key] is None or 0.0 <= at[key] <= 1.0, key
    assert at["nne"] is None or at["nne"] >= 1.0
    assert at["alerts_per_100_patient_days"] >= 0.0
    assert at["median_lead_time_hours"] is None or 0.0 < at["median_lead_time_hours"] <= 24.0
    assert 0 <= at["true_alerts"] <= at["alerts"] <= at["alert_observations"]
    assert 0 <= at["detected"] <= figures["events"]
    assert 0 <= figures["outcome_observations"] <= figures["observations"]


@pytest.mark.process
def test_evaluate_prints_the_contract_object_with_figures_in_range(recording: Path) -> None:
    done = surveillance("evaluate", recording, "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["horizon_hours"] == 24
    assert result["outcome"] == ["icu-admission", "cardiac-arrest", "death"]
    assert result["outcome_source"] == {str(recording): "events"}
    assert result["patients"] > 40
    assert result["patient_days"] > 100
    assert result["events"] > 0
    assert result["events_per_100_patient_days"] == pytest.approx(
        100 * result["events"] / result["patient_days"], rel=1e-3
    )
    news2 = result["news2"]
    assert news2["events"] > 0
    assert news2["outcome_observations"] > 0
    assert 0.5 < news2["auroc"] <= 1.0  # NEWS2 predicts the simulated deteriorations
    for key in ("news2", "pews", "mews"):
        _in_range(result[key])
    observations = sum(result[key]["observations"] for key in ("news2", "pews", "mews"))
    assert observations == result["observations"]
    assert set(result["by_group"]) == {"sex", "ethnicity", "age_band", "imd_quintile"}
    bands = result["by_group"]["age_band"]
    assert {"0-15", "16-39", "40-64", "65-79", "80+"} >= set(bands)
    assert sum(b["patients"] for b in bands.values() if b["patients"] != "*") <= result["patients"]
    for band in bands.values():
        assert band["patients"] == "*" or band["patients"] == 0 or band["patients"] >= 8
    # the shipped learned risk, judged on the same observations as NEWS2
    model = result["model"]
    assert model["observations"] + model["observations_without_estimate"] == news2["observations"]
    assert model["outcome_observations"] <= news2["outcome_observations"]
    for key in ("auroc", "auprc", "brier"):
        assert 0.0 <= model[key] <= 1.0, key
    assert model["calibration_slope"] is None or model["calibration_slope"] > 0
    at = model["at_news2_alert_rate"]
    assert 0.0 <= at["threshold"] <= 1.0
    assert 0 <= at["true_alerts"] <= at["alerts"] <= at["alert_observations"]
    assert model["about"]["learning"] is True
    assert model["about"]["river"] == "0.26.1"


@pytest.mark.process
def test_evaluate_prints_a_table_with_the_published_ranges(recording: Path) -> None:
    done = surveillance("evaluate", recording, "--no-progress", "--horizon", "12", "--no-model")
    assert done.returncode == 0, done.stderr
    assert "within 12 h" in done.stdout
    assert "NEWS2 >= 5" in done.stdout
    assert "0.75-0.90" in done.stdout
    assert "by group" in done.stdout
    assert "Learned risk: not run" in done.stdout
    done = surveillance("evaluate", recording, "--no-progress", "--horizon", "12")
    assert done.returncode == 2
    assert "the model predicts within 24 h, not --horizon 12" in done.stderr


@pytest.mark.process
def test_train_writes_a_model_that_evaluate_judges_frozen_beside_news2(
    recording: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model.json.gz"
    done = surveillance("train", recording, "--out", out, "--no-progress", "--note", "test")
    assert done.returncode == 0, done.stderr
    assert "positive and" in done.stderr
    done = surveillance("evaluate", recording, "--model", out, "--no-learn", "--no-progress")
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "learned risk" in line)
    assert header.split()[:2] == ["NEWS2", "learned"]
    for row in ("Brier score", "calibration slope", "calibration intercept"):
        assert row in done.stdout
    assert "frozen" in done.stdout
    assert "not clinical evidence" in done.stdout
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(b"\x1f\x8b not really")
    done = surveillance("evaluate", recording, "--model", broken, "--no-progress")
    assert done.returncode == 2
    assert f"model file {broken}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.process
def test_evaluate_refuses_bad_options_and_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not a recording\n")
    for args, said in (
        (["--outcome", "icu-admission,nonsense"], "unknown events ['nonsense']"),
        (["--horizon", "0"], "--horizon must be > 0"),
    ):
        done = surveillance("evaluate", bad, *args)
        assert done.returncode == 2
        assert said in done.stderr
    done = surveillance("evaluate", bad, "--no-progress")
    assert done.returncode == 2
    assert "line 1" in done.stderr
    assert "Traceback" not in done.stderr
