"""The clinical safety case (docs/safety/) stays true to the code and to DCB0129.

The hazard log is data (`docs/safety/hazard-log.toml`); `scripts/hazard_log.py` checks and
renders it. These tests run its checks: every rating read from the DCB0129 matrix, every
hazard issue 14 asks for present, every implemented control proved by tests that exist (found
by parsing the test files, never importing them) and are not expected to fail, planned and
transferred controls claiming no tests, each hazard's status following its controls, and the
Markdown in step with the data. Then they show each check can fail.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hazard_log", ROOT / "scripts" / "hazard_log.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("hazard_log", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


hl = _load_script()


@pytest.fixture(scope="module")
def log() -> dict[str, Any]:
    loaded: dict[str, Any] = hl.load()
    return loaded


# ---- the log as shipped ------------------------------------------------------------------------


def test_the_log_is_well_formed(log: dict[str, Any]) -> None:
    assert hl.schema_problems(log) == []
    assert len(hl.hazards(log)) >= len(hl.REQUIRED)


def test_every_rating_follows_the_dcb0129_matrix(log: dict[str, Any]) -> None:
    assert hl.rating_problems(log) == []


def test_every_hazard_issue_14_asks_for_is_in_the_log(log: dict[str, Any]) -> None:
    assert hl.required_problems(log) == []
    covered = [h["covers"] for h in hl.hazards(log) if "covers" in h]
    assert sorted(covered) == sorted(hl.REQUIRED), "each required hazard once"


def test_every_implemented_control_names_tests_that_exist(log: dict[str, Any]) -> None:
    assert hl.node_id_problems(log) == []


def test_control_and_hazard_states_agree(log: dict[str, Any]) -> None:
    assert hl.status_problems(log) == []


def test_the_markdown_is_in_step_with_the_data(log: dict[str, Any]) -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in hl.rendered(log).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]
    assert stale == [], "run .venv/bin/python scripts/hazard_log.py"


def test_the_report_states_every_residual_risk(log: dict[str, Any]) -> None:
    report = hl.REPORT_MD.read_text(encoding="utf-8")
    for hazard in hl.hazards(log):
        assert f"[{hazard['id']}](hazard-log.md#{hazard['id'].lower()})" in report
        if hazard["residual"]["rating"] >= 4:  # not acceptable: the report must argue it out
            assert report.count(hazard["id"]) >= 2, f"{hazard['id']} is only in the table"


def test_the_documents_name_the_standard_and_who_approves_them() -> None:
    plan = hl.PLAN_MD.read_text(encoding="utf-8")
    report = hl.REPORT_MD.read_text(encoding="utf-8")
    for text in (plan, report):
        assert "DCB0129 v4.2" in text
        assert "Clinical Safety Officer" in text
    assert "appointed by the deploying" in plan


def test_the_shipped_unit_restarts_a_silent_service() -> None:
    """The control HAZ-007 names: systemd restarts a service whose watchdog pings stop."""
    service: dict[str, str] = {}
    section = None
    for raw in (ROOT / "config" / "surveillance.service").read_text().splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            service[key.strip()] = value.strip()
    assert service["Type"] == "notify"
    assert 0 < int(service["WatchdogSec"]) <= 60
    assert service["Restart"] in {"always", "on-failure", "on-watchdog", "on-abnormal"}
    assert service.get("TimeoutStartSec") == "infinity"  # a store down at boot is waited for


# ---- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "likelihood", "expected"),
    [
        ("minor", "very low", 1),
        ("minor", "very high", 3),
        ("significant", "low", 2),
        ("considerable", "medium", 3),
        ("major", "low", 3),
        ("major", "very low", 2),
        ("major", "high", 4),
        ("catastrophic", "very low", 3),
        ("catastrophic", "low", 4),
        ("catastrophic", "high", 5),
        ("catastrophic", "very high", 5),
    ],
)
def test_the_matrix_reads_as_the_guidance_prints_it(
    severity: str, likelihood: str, expected: int
) -> None:
    assert hl.rating(severity, likelihood) == expected


def test_the_matrix_never_rates_a_worse_hazard_lower() -> None:
    for likelihood in hl.LIKELIHOODS:
        row = [hl.rating(s, likelihood) for s in hl.SEVERITIES]
        assert row == sorted(row)
    for severity in hl.SEVERITIES:
        column = [hl.rating(severity, likelihood) for likelihood in hl.LIKELIHOODS]
        assert column == sorted(column)
    assert {hl.rating(s, li) for s in hl.SEVERITIES for li in hl.LIKELIHOODS} == {1, 2, 3, 4, 5}


# ---- each check can fail -------------------------------------------------------------------------

REAL_TEST = "tests/surveillance/test_online.py::test_silent_feed_raises_then_resolves"


def _minimal() -> dict[str, Any]:
    """A log that passes every check: one hazard per required kind, each with one control."""
    hazards = [
        {
            "id": f"HAZ-{n:03d}",
            "title": words,
            "covers": key,
            "description": "d",
            "causes": ["c"],
            "effect": "e",
            "harm": "h",
            "owner": "o",
            "status": "closed",
            "initial": {"severity": "major", "likelihood": "medium", "rating": 3},
            "residual": {"severity": "major", "likelihood": "very low", "rating": 2},
            "control": [
                {
                    "description": "x",
                    "kind": "design",
                    "status": "implemented",
                    "tests": [REAL_TEST],
                }
            ],
        }
        for n, (key, words) in enumerate(hl.REQUIRED.items(), 1)
    ]
    meta = dict.fromkeys(
        ("system", "version", "date", "standard", "guidance", "configuration"), "x"
    )
    return {"log": meta, "hazard": hazards}


def test_the_minimal_log_passes() -> None:
    assert hl.problems(_minimal()) == []


def _first(log: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = log["hazard"][0]
    return first


def _control(log: dict[str, Any]) -> dict[str, Any]:
    control: dict[str, Any] = _first(log)["control"][0]
    return control


def _rating_off(log: dict[str, Any]) -> None:
    _first(log)["residual"]["rating"] = 1


def _worse_after(log: dict[str, Any]) -> None:
    _first(log)["residual"] = {"severity": "major", "likelihood": "high", "rating": 4}


def _unknown_word(log: dict[str, Any]) -> None:
    _first(log)["initial"]["likelihood"] = "possible"


def _missing_test(log: dict[str, Any]) -> None:
    _control(log)["tests"] = ["tests/surveillance/test_online.py::test_that_was_renamed"]


def _missing_file(log: dict[str, Any]) -> None:
    _control(log)["tests"] = [
        "tests/surveillance/test_gone.py::test_silent_feed_raises_then_resolves"
    ]


def _not_a_node_id(log: dict[str, Any]) -> None:
    _control(log)["tests"] = ["test_silent_feed_raises_then_resolves"]


def _expected_failure(log: dict[str, Any]) -> None:
    _control(log)["tests"] = [
        "tests/surveillance/test_episode_review.py::"
        "test_a_child_recognised_mid_episode_is_upgraded_by_their_own_chart"
    ]


def _untested(log: dict[str, Any]) -> None:
    _control(log)["tests"] = []


def _planned_with_tests(log: dict[str, Any]) -> None:
    _control(log)["status"] = "planned"
    _control(log)["work"] = "issue 14 item 5"
    _first(log)["status"] = "open"
    _first(log)["target"] = dict(_first(log)["residual"])


def _planned_but_closed(log: dict[str, Any]) -> None:
    _first(log)["control"].append(
        {"description": "y", "kind": "design", "status": "planned", "work": "issue 14 item 1"}
    )
    _first(log)["target"] = dict(_first(log)["residual"])


def _planned_without_work(log: dict[str, Any]) -> None:
    _first(log)["control"].append({"description": "y", "kind": "design", "status": "planned"})
    _first(log)["status"] = "open"
    _first(log)["target"] = dict(_first(log)["residual"])


def _transferred_design(log: dict[str, Any]) -> None:
    _first(log)["control"].append({"description": "y", "kind": "design", "status": "transferred"})
    _first(log)["status"] = "transferred"


def _closed_with_risk_3(log: dict[str, Any]) -> None:
    _first(log)["residual"] = {"severity": "major", "likelihood": "low", "rating": 3}


def _required_missing(log: dict[str, Any]) -> None:
    del _first(log)["covers"]


def _id_twice(log: dict[str, Any]) -> None:
    log["hazard"][1]["id"] = _first(log)["id"]


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_rating_off, "the matrix says 2"),
        (_worse_after, "higher than the initial"),
        (_unknown_word, "likelihood must be one of"),
        (_missing_test, "no such test"),
        (_missing_file, "no such file"),
        (_not_a_node_id, "not a pytest node id"),
        (_expected_failure, "expected to fail"),
        (_untested, "must name the tests"),
        (_planned_with_tests, "cannot claim tests"),
        (_planned_but_closed, "so the hazard is open"),
        (_planned_without_work, "must name the `work`"),
        (_transferred_design, "training or procedure"),
        (_closed_with_risk_3, "closed with a residual risk of 3"),
        (_required_missing, "no hazard covers a wrong score"),
        (_id_twice, "the id is used twice"),
    ],
)
def test_each_check_can_fail(spoil: Any, expected: str) -> None:
    log = copy.deepcopy(_minimal())
    spoil(log)
    found = hl.problems(log)
    assert any(expected in problem for problem in found), found


def test_node_ids_are_checked_by_function_class_and_method(tmp_path: Path) -> None:
    """A parametrised case is checked by its function; Class::method ids are read from the
    class; a module marked xfail as a whole proves nothing."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "import pytest\n"
        "class TestDesk:\n"
        "    def test_acts(self):\n"
        "        pass\n"
        "@pytest.mark.parametrize('x', [1])\n"
        "def test_cases(x):\n"
        "    pass\n"
    )
    (tmp_path / "tests" / "test_b.py").write_text(
        "import pytest\npytestmark = pytest.mark.xfail(strict=True)\ndef test_b():\n    pass\n"
    )

    def checked(*node_ids: str) -> list[str]:
        log = {"hazard": _minimal()["hazard"][:1]}
        _control(log)["tests"] = list(node_ids)
        found: list[str] = hl.node_id_problems(log, root=tmp_path)
        return found

    assert checked("tests/test_a.py::TestDesk::test_acts", "tests/test_a.py::test_cases[1]") == []
    assert checked("tests/test_a.py::TestDesk::test_sleeps") != []
    assert checked("tests/test_a.py::TestOther::test_acts") != []
    assert checked("tests/test_a.py::test_acts") != []  # a method is not a module function
    assert "expected to fail" in " ".join(checked("tests/test_b.py::test_b"))
