"""`surveillance spc` (CONTRACT §10): JSON lines in, one line per point and a summary out; bad
input named by line, exit status 1."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from surveillance.cli import main
from tests import ROOT

POINT_KEYS = [
    "x", "y", "mean", "lpl", "upl", "outside_limits", "relative_to_mean", "close_to_limits",
    "special_cause", "rule", "point_type",
]  # fmt: skip

# vignettes/deviations.Rmd's series, dated from 2021-03-22 as there
DEVIATIONS = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
DATES = [f"2021-03-{d}" for d in range(22, 32)] + [f"2021-04-0{d}" for d in range(1, 9)]


def lines(pairs) -> bytes:
    return b"".join(json.dumps({"x": x, "y": y}).encode() + b"\n" for x, y in pairs)


def run(stdin: bytes, *args: str, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    status = main(["spc", *args])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_one_line_per_point_then_the_summary(monkeypatch, capsys):
    status, out, err = run(lines(zip(DATES, DEVIATIONS, strict=True)), "--improvement", "decrease",
                           monkeypatch=monkeypatch, capsys=capsys)  # fmt: skip
    assert (status, err) == (0, "")
    points, summary = out[:-1], out[-1]
    assert [list(p) for p in points] == [POINT_KEYS] * 18
    assert [p["x"] for p in points] == DATES
    assert {(p["mean"], p["lpl"], p["upl"]) for p in points} == {
        (35 / 18, 35 / 18 - 2.66, 35 / 18 + 2.66)  # mean moving range 1 once the 8 and 9 go
    }
    assert [p["x"] for p in points if p["special_cause"]] == ["2021-03-26"]
    assert points[4]["rule"] == "outside-limits"
    assert points[4]["point_type"] == "special_cause_concern"
    assert summary == {"summary": {"variation": "common_cause", "assurance": None}}


def test_the_excel_tools_limits_without_screening(monkeypatch, capsys):
    pairs = list(zip(DATES, DEVIATIONS, strict=True))
    _, screened, _ = run(lines(pairs), monkeypatch=monkeypatch, capsys=capsys)
    _, excel, _ = run(lines(pairs), "--no-screen-outliers", monkeypatch=monkeypatch, capsys=capsys)
    assert screened[0]["upl"] - screened[0]["lpl"] == pytest.approx(2 * 2.66 * 1)
    assert excel[0]["upl"] - excel[0]["lpl"] == pytest.approx(2 * 2.66 * 32 / 17)


def test_options_rebase_fix_after_target(monkeypatch, capsys):
    ys = [10, 11] * 10 + [20, 21] * 10
    pairs = [(f"w{i:02d}", y) for i, y in enumerate(ys)]
    status, out, err = run(lines(pairs), "--rebase", "w20", "--fix-after", "12", "--target", "15",
                           "--improvement", "increase", monkeypatch=monkeypatch, capsys=capsys)  # fmt: skip
    assert (status, err) == (0, "")
    assert {p["mean"] for p in out[:20]} == {10.5}
    assert {p["mean"] for p in out[20:40]} == {20.5}
    assert out[-1] == {"summary": {"variation": "common_cause", "assurance": "consistent_pass"}}


def test_trial_limits_warn_but_succeed(monkeypatch, capsys):
    status, out, err = run(
        lines([("a", 1), ("b", 2), ("c", 4)]), monkeypatch=monkeypatch, capsys=capsys
    )
    assert status == 0
    assert len(out) == 4
    assert "the limit group starting at 'a' has 3 point(s), fewer than 12" in err


def test_a_constant_series_screened_has_null_limits(monkeypatch, capsys):
    _, out, _ = run(lines((str(i), 5) for i in range(14)), monkeypatch=monkeypatch, capsys=capsys)
    assert {(p["mean"], p["lpl"], p["upl"]) for p in out[:-1]} == {(5.0, None, None)}


def test_blank_lines_are_passed_over(monkeypatch, capsys):
    status, out, _ = run(
        b"\n" + lines([("a", 1), ("b", 2)]) + b"  \n", monkeypatch=monkeypatch, capsys=capsys
    )
    assert status == 0
    assert len(out) == 3


BAD_INPUT = [
    (b'{"x": "a", "y": 1}\n{not json\n', "line 2: invalid: JSON is malformed"),
    (b'{"x": "a", "y": 1}\n{"x": "b"}\n', "line 2: invalid: Object missing required field `y`"),
    (b'{"x": "a", "y": 1}\n{"x": "b", "y": "3"}\n', "line 2: invalid: Expected `float`, got `str` - at `$.y`"),
    (b'{"x": "a", "y": 1}\n{"x": "b", "y": true}\n', "line 2: invalid: Expected `float`, got `bool`"),
    (b'{"x": "a", "y": 1}\n{"x": "b", "y": null}\n', "line 2: invalid: Expected `float`, got `null`"),
    (b'{"x": "a", "y": 1}\n{"x": "b", "y": 1e999}\n', "line 2: invalid: Number out of range"),
    (b'{"x": "a", "y": 1}\n{"y": 2}\n', "line 2: invalid: Object missing required field `x`"),
    (b'{"x": "a", "y": 1}\n[1, 2]\n', "line 2: invalid: Expected `object`, got `array`"),
    (b'{"x": "a", "y": 1}\n{"x": 2, "y": 2}\n', "line 2: invalid: Expected `str`, got `int` - at `$.x`"),
    (b'{"x": "a", "y": 1}\n', "1 point(s) read: a chart needs at least 2"),
    (b"", "0 point(s) read"),
    (b'{"x": "a", "y": 1}\n\n{"x": "b", "y": 2}\n{"x": "a", "y": 3}\n', "line 4: x 'a' repeats line 1"),
]  # fmt: skip


@pytest.mark.parametrize(("stdin", "message"), BAD_INPUT)
def test_bad_input_names_the_line_and_writes_no_chart(stdin, message, monkeypatch, capsys):
    status, out, err = run(stdin, monkeypatch=monkeypatch, capsys=capsys)
    assert (status, out) == (1, [])
    assert f"surveillance spc: {message}" in err


def test_every_bad_line_is_named(monkeypatch, capsys):
    stdin = b'{"x": "a", "y": 1}\nnope\n{"x": "c", "y": 3}\n{"x": "d"}\n'
    status, out, err = run(stdin, monkeypatch=monkeypatch, capsys=capsys)
    assert (status, out) == (1, [])
    assert "line 2:" in err
    assert "line 4:" in err
    assert "2 bad line(s); no chart" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rebase", "zz"], "rebase label 'zz' is not the x of any point"),
        (["--rebase", "b", "--rebase", "b"], "rebase label 'b' given twice"),
    ],
)
def test_bad_rebase_is_bad_input(args, message, monkeypatch, capsys):
    status, out, err = run(
        lines([("a", 1), ("b", 2), ("c", 3)]), *args, monkeypatch=monkeypatch, capsys=capsys
    )
    assert (status, out) == (1, [])
    assert message in err


@pytest.mark.parametrize(
    "args",
    [["--fix-after", "11"], ["--fix-after", "x"], ["--target", "nan"], ["--improvement", "up"]],
)
def test_bad_options_are_usage_errors(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(SystemExit) as exit_:
        main(["spc", *args])
    assert exit_.value.code == 2
    assert "surveillance spc: error: argument" in capsys.readouterr().err


def test_a_missing_file_is_exit_status_2(tmp_path: Path, capsys):
    assert main(["spc", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl" in capsys.readouterr().err


def test_reads_a_file(tmp_path: Path, capsys):
    path = tmp_path / "series.jsonl"
    path.write_bytes(lines([("a", 1), ("b", 2)]))
    assert main(["spc", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.process
def test_the_installed_command_end_to_end():
    """The real command in its own process: stdin in, stdout out, the exit status."""
    good = subprocess.run(
        [sys.executable, "-m", "surveillance.cli", "spc", "--improvement", "increase", "--target=-1"],
        input=lines(zip(DATES, DEVIATIONS, strict=True)),
        capture_output=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    out = [json.loads(line) for line in good.stdout.splitlines()]
    assert len(out) == 19
    assert out[-1] == {"summary": {"variation": "common_cause", "assurance": "consistent_pass"}}
    bad = subprocess.run(
        [sys.executable, "-m", "surveillance.cli", "spc"],
        input=b'{"x": "a", "y": 1}\n{"x": "b", "y": "two"}\n',
        capture_output=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert (bad.returncode, bad.stdout) == (1, b"")
    assert b"line 2: invalid" in bad.stderr
