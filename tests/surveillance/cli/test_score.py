"""`surveillance score` end to end, as a separate process (CONTRACT §7)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

import pytest

from tests import ROOT
from tests.factories import CONTRACT_OBSERVATION

pytestmark = pytest.mark.process

GOOD = {**CONTRACT_OBSERVATION, "context": {"cohort": "adult", "ward": "7A", "bed": "12"}}


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "surveillance.cli", "score", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def line(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def test_scores_a_contract_observation_set():
    proc = run(stdin=line(GOOD))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    result = json.loads(proc.stdout)
    # CONTRACT §4 fields, exactly as the contract names them
    for key in ("patient_id", "ward", "bed", "time", "obs_msg_id", "system", "chart", "total", "parameters",
                "risk", "complete", "missing", "monitoring", "next_obs_due", "response"):  # fmt: skip
        assert key in result
    assert result["parameters"] == {
        "resp_rate": 2, "spo2": 1, "air_or_oxygen": 0, "systolic_bp": 1,
        "heart_rate": 1, "consciousness": 0, "temperature": 1,
    }  # fmt: skip
    assert (result["total"], result["risk"], result["monitoring"], result["response"]) == (
        6,
        "medium",
        "hourly",
        "urgent",
    )
    assert (result["time"], result["next_obs_due"]) == (
        "2026-11-22T09:30:00Z",
        "2026-11-22T10:30:00Z",
    )
    assert (result["ward"], result["bed"], result["obs_msg_id"], result["chart"]) == (
        "7A",
        "12",
        "obs-7f3a",
        "news2",
    )


def test_bad_lines_are_reported_by_number_and_the_rest_still_scored_in_order():
    child = {
        **GOOD,
        "msg_id": "c1",
        "vitals": {"resp_rate": 20},
        "context": {"cohort": "child", "age_band": "5-12y"},
    }
    stdin = b"".join(
        [
            line({**GOOD, "msg_id": "a"}),
            b"{not json\n",
            line({**GOOD, "msg_id": "b", "vitals": {"heart_rate": 350}}),
            b"\n",
            line(child),
            line({**GOOD, "msg_id": "d", "vitals": {"pulse": 80}}),
            line({**GOOD, "msg_id": "e", "context": {}}),
            line({**GOOD, "msg_id": "f"}),
        ]
    )
    proc = run(stdin=stdin)
    assert proc.returncode == 1
    ids = [json.loads(out)["obs_msg_id"] for out in proc.stdout.splitlines()]
    assert ids == ["a", "c1", "f"]
    errors = proc.stderr.decode().splitlines()
    assert errors[0].startswith("line 2: invalid: JSON is malformed")
    assert errors[1].startswith("line 3: implausible: heart_rate 350 is implausible")
    assert errors[2].startswith("line 6: invalid: Object contains unknown field `pulse`")
    assert errors[3].startswith("line 7: no-chart: context needs a cohort")
    assert errors[4] == "surveillance score: 4 line(s) refused"


def test_reads_a_file_and_large_inputs_across_chunks(tmp_path):
    path = tmp_path / "obs.jsonl"
    n = 5000  # more than one internal chunk
    path.write_bytes(b"".join(line({**GOOD, "msg_id": f"m{i}"}) for i in range(n)))
    proc = run(str(path))
    assert proc.returncode == 0, proc.stderr
    outs = proc.stdout.splitlines()
    assert [json.loads(o)["obs_msg_id"] for o in outs] == [f"m{i}" for i in range(n)]


def test_extra_charts_and_chart_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nsystem = "NEWS2"\n', encoding="utf-8")
    proc = run("--charts", str(bad), stdin=line(GOOD))
    assert proc.returncode == 2
    assert str(bad) in proc.stderr.decode()


@pytest.mark.parametrize("args", [("--help",), ()])
def test_help(args):
    proc = subprocess.run(
        [sys.executable, "-m", "surveillance.cli", *args],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert b"score" in proc.stdout


def test_missing_file_is_a_usage_error(tmp_path):
    proc = run(str(tmp_path / "nope.jsonl"))
    assert proc.returncode == 2
    assert b"nope.jsonl" in proc.stderr
