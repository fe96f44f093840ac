"""The clinical safety case's hazard log: data in, checks and Markdown out.

`docs/safety/hazard-log.toml` is the hazard log (DCB0129 v4.2 §3.3) kept as data. This script
checks it (every rating read from the DCB0129 matrix, every implemented control proved by
tests that exist, every hazard's status following its controls) and renders it:

    .venv/bin/python scripts/hazard_log.py           # write docs/safety/hazard-log.md and the
                                                     # generated blocks of the plan and report
    .venv/bin/python scripts/hazard_log.py --check   # exit 1 if anything is wrong or out of step

`tests/test_safety_case.py` runs the same checks, so the test command fails when the log and
the code part company (a test renamed, a rating that does not follow the matrix, a Markdown
file edited by hand).
"""

from __future__ import annotations

import argparse
import ast
import itertools
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ROOT / "docs" / "safety"
LOG_TOML = SAFETY / "hazard-log.toml"
LOG_MD = SAFETY / "hazard-log.md"
PLAN_MD = SAFETY / "clinical-risk-management-plan.md"
REPORT_MD = SAFETY / "safety-case-report.md"

# DCB0129 Implementation Guidance v3.2: severity (consequence) and likelihood categories, and
# the risk matrix that reads a clinical risk rating of 1-5 from them (a lookup, not a product).
SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")
MATRIX: Mapping[str, Sequence[int]] = {  # likelihood -> ratings by severity, minor first
    "very high": (3, 4, 4, 5, 5),
    "high": (2, 3, 3, 4, 5),
    "medium": (2, 2, 3, 3, 4),
    "low": (1, 2, 2, 3, 4),
    "very low": (1, 1, 2, 2, 3),
}
ACCEPTABILITY = {
    5: "Unacceptable level of risk",
    4: "Mandatory elimination of hazard or addition of control measure to reduce risk to an "
    "acceptable level",
    3: "Undesirable level of risk: attempts should be made to eliminate the hazard or implement "
    "control measures to reduce risk to an acceptable level; shall only be acceptable when "
    "further risk reduction is impractical",
    2: "Acceptable where cost of further reduction outweighs benefits gained or where further "
    "risk reduction is impractical",
    1: "Acceptable, no further action required",
}

# Control kinds: the Guidance's additional-control headings (design, test, training, business
# process change; the last is `procedure` here). Control states: built by the manufacturer
# (`implemented`, proved by tests), not built yet (`planned`, naming the work), or put on the
# deploying organisation (`transferred`, DCB0129 Guidance §4.5; done under its DCB0160 process).
KINDS = ("design", "test", "training", "procedure")
CONTROL_STATES = ("implemented", "planned", "transferred")
# Hazard status, the Guidance's own words: Open (the manufacturer's actions are not all done),
# Transferred (they are, the deploying organisation's are not), Closed (all done).
HAZARD_STATES = ("open", "transferred", "closed")

# Issue 14 asks for at least these; each hazard of the log may answer one of them (`covers`).
REQUIRED = {
    "wrong-score": "a wrong score",
    "missed-alert": "a missed or delayed alert",
    "unanswered-alert": "an alert nobody answers",
    "stale-feed": "a stale or disconnected feed",
    "wrong-patient": "a wrong patient in a bed",
    "forged-acknowledgement": "a forged acknowledgement",
    "silenced-service": "a silenced service",
    "lost-observation": "a lost observation",
    "wrong-person-sees-data": "data shown to the wrong person",
}

HAZARD_ID = re.compile(r"HAZ-\d{3}")
TEST_ID = re.compile(r"(tests/[\w/]+\.py)::(\w+)(?:::(\w+))?(\[.*\])?")


def rating(severity: str, likelihood: str) -> int:
    """The clinical risk rating the DCB0129 matrix gives a severity and a likelihood."""
    return MATRIX[likelihood][SEVERITIES.index(severity)]


def load(path: Path = LOG_TOML) -> dict[str, Any]:
    """The hazard log as parsed TOML."""
    with path.open("rb") as file:
        return tomllib.load(file)


def hazards(log: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(log.get("hazard", []))


def controls(hazard: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(hazard.get("control", []))


# ---- checks: each returns what is wrong, as sentences naming the hazard --------------------


def schema_problems(log: Mapping[str, Any]) -> list[str]:
    """Fields missing or of the wrong kind, unknown words, repeated ids."""
    problems = []
    for key in ("system", "version", "date", "standard", "guidance", "configuration"):
        if not isinstance(log.get("log", {}).get(key), str):
            problems.append(f"[log] needs the text `{key}`")
    seen: set[str] = set()
    for n, hazard in enumerate(hazards(log)):
        hid = hazard.get("id", f"hazard #{n + 1}")
        if not isinstance(hid, str) or not HAZARD_ID.fullmatch(hid):
            problems.append(f"{hid}: the id must read HAZ-nnn")
        if hid in seen:
            problems.append(f"{hid}: the id is used twice")
        seen.add(hid)
        for key in ("title", "description", "effect", "harm", "owner", "status"):
            if not isinstance(hazard.get(key), str) or not hazard[key].strip():
                problems.append(f"{hid}: needs the text `{key}`")
        causes = hazard.get("causes")
        if (
            not isinstance(causes, list)
            or not causes
            or not all(isinstance(c, str) for c in causes)
        ):
            problems.append(f"{hid}: needs `causes`, a list of text")
        if hazard.get("status") not in HAZARD_STATES:
            problems.append(f"{hid}: status must be one of {', '.join(HAZARD_STATES)}")
        covers = hazard.get("covers")
        if covers is not None and covers not in REQUIRED:
            problems.append(f"{hid}: `covers` {covers!r} is not one of {sorted(REQUIRED)}")
        for stage in ("initial", "residual", "target"):
            assessment = hazard.get(stage)
            if assessment is None and stage == "target":
                continue
            if not isinstance(assessment, dict):
                problems.append(f"{hid}: needs an `{stage}` assessment")
                continue
            if assessment.get("severity") not in SEVERITIES:
                problems.append(f"{hid}: {stage} severity must be one of {', '.join(SEVERITIES)}")
            if assessment.get("likelihood") not in LIKELIHOODS:
                problems.append(
                    f"{hid}: {stage} likelihood must be one of {', '.join(LIKELIHOODS)}"
                )
            if not isinstance(assessment.get("rating"), int):
                problems.append(f"{hid}: {stage} needs a whole-number `rating`")
        if not controls(hazard):
            problems.append(f"{hid}: names no control")
        for c, control in enumerate(controls(hazard), 1):
            where = f"{hid} control {c}"
            if not isinstance(control.get("description"), str) or not control["description"]:
                problems.append(f"{where}: needs a `description`")
            if control.get("kind") not in KINDS:
                problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
            if control.get("status") not in CONTROL_STATES:
                problems.append(f"{where}: status must be one of {', '.join(CONTROL_STATES)}")
            tests = control.get("tests", [])
            if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
                problems.append(f"{where}: `tests` must be a list of pytest node ids")
    return problems


def rating_problems(log: Mapping[str, Any]) -> list[str]:
    """Ratings that do not follow the matrix, and risks that controls would make worse."""
    problems = []
    for hazard in hazards(log):
        hid = hazard.get("id")
        stages = [s for s in ("initial", "residual", "target") if isinstance(hazard.get(s), dict)]
        for stage in stages:
            a = hazard[stage]
            if a.get("severity") in SEVERITIES and a.get("likelihood") in LIKELIHOODS:
                expected = rating(a["severity"], a["likelihood"])
                if a.get("rating") != expected:
                    problems.append(
                        f"{hid}: {stage} {a['severity']} x {a['likelihood']} is rated "
                        f"{a.get('rating')}, the matrix says {expected}"
                    )
        for before, after in itertools.pairwise(stages):
            a, b = hazard[before], hazard[after]
            rated = isinstance(a.get("rating"), int) and isinstance(b.get("rating"), int)
            if rated and b["rating"] > a["rating"]:
                problems.append(f"{hid}: the {after} risk is higher than the {before} risk")
            known = a.get("severity") in SEVERITIES and b.get("severity") in SEVERITIES
            if known and SEVERITIES.index(b["severity"]) > SEVERITIES.index(a["severity"]):
                problems.append(f"{hid}: the {after} severity is worse than the {before}")
        planned = [c for c in controls(hazard) if c.get("status") == "planned"]
        if planned and "target" not in hazard:
            problems.append(f"{hid}: has planned controls, so needs a `target` assessment")
        if not planned and "target" in hazard:
            problems.append(f"{hid}: has a `target` but no planned control to reach it")
    return problems


def status_problems(log: Mapping[str, Any]) -> list[str]:
    """Control and hazard states that contradict each other (DCB0129 Guidance Table 5)."""
    problems = []
    for hazard in hazards(log):
        hid = hazard.get("id")
        states = {c.get("status") for c in controls(hazard)}
        for c, control in enumerate(controls(hazard), 1):
            where = f"{hid} control {c}"
            tests = control.get("tests", [])
            state = control.get("status")
            if state == "implemented" and not tests:
                problems.append(f"{where}: implemented, so it must name the tests that prove it")
            if state in ("planned", "transferred") and tests:
                problems.append(f"{where}: {state}, so it cannot claim tests yet")
            if state == "planned" and not control.get("work"):
                problems.append(f"{where}: planned, so it must name the `work` that will build it")
            if state == "transferred" and control.get("kind") not in ("training", "procedure"):
                problems.append(
                    f"{where}: transferred to the deploying organisation, so its kind is "
                    "training or procedure"
                )
        status = hazard.get("status")
        if "planned" in states and status != "open":
            problems.append(f"{hid}: a control is still planned, so the hazard is open")
        if "planned" not in states and "transferred" in states and status == "closed":
            problems.append(f"{hid}: a control is the deploying organisation's, so not closed")
        if states == {"implemented"} and status == "transferred":
            problems.append(f"{hid}: nothing is transferred, so the status cannot be transferred")
        residual = hazard.get("residual", {}).get("rating")
        if status == "closed" and isinstance(residual, int) and residual > 2:
            problems.append(f"{hid}: closed with a residual risk of {residual} (acceptable is 1-2)")
    return problems


def required_problems(log: Mapping[str, Any]) -> list[str]:
    covered = {h.get("covers") for h in hazards(log)}
    return [
        f'no hazard covers {words} (`covers = "{key}"`)'
        for key, words in REQUIRED.items()
        if key not in covered
    ]


@dataclass(frozen=True)
class ParsedTestFile:
    """What one test module defines: its test functions, classes and their methods."""

    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    classes: dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]]
    module_xfail: bool


def _is_xfail(decorator: ast.expr) -> bool:
    text = ast.unparse(decorator)
    return "mark.xfail" in text


def read_test_file(path: Path) -> ParsedTestFile:
    """Parse (never import) a test module: names defined at its top level and in its classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    classes: dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    module_xfail = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {
                item.name: item
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            module_xfail = "mark.xfail" in ast.unparse(node.value)
    return ParsedTestFile(functions, classes, module_xfail)


def node_id_problems(log: Mapping[str, Any], root: Path = ROOT) -> list[str]:
    """Test ids that do not name a test that exists and can pass.

    A node id is `tests/...py::test_name` or `tests/...py::Class::test_name`; a parametrised
    case (`test_name[case]`) is checked by its function's name. A test expected to fail
    (`xfail`) proves nothing and is refused.
    """
    problems = []
    files: dict[str, ParsedTestFile | None] = {}
    for hazard in hazards(log):
        for c, control in enumerate(controls(hazard), 1):
            for node_id in control.get("tests", []):
                where = f"{hazard.get('id')} control {c}: {node_id}"
                match = TEST_ID.fullmatch(node_id)
                if match is None:
                    problems.append(f"{where}: not a pytest node id tests/...py::test_name")
                    continue
                path, first, second, _ = match.groups()
                if path not in files:
                    full = root / path
                    files[path] = read_test_file(full) if full.is_file() else None
                found = files[path]
                if found is None:
                    problems.append(f"{where}: no such file")
                    continue
                if second is None:
                    test = found.functions.get(first)
                elif first in found.classes:
                    test = found.classes[first].get(second)
                else:
                    test = None
                name = second or first
                if test is None or not name.startswith("test"):
                    problems.append(f"{where}: no such test")
                elif found.module_xfail or any(_is_xfail(d) for d in test.decorator_list):
                    problems.append(f"{where}: is expected to fail, so it proves nothing")
    return problems


def problems(log: Mapping[str, Any], root: Path = ROOT) -> list[str]:
    """Everything wrong with the log."""
    return [
        *schema_problems(log),
        *rating_problems(log),
        *status_problems(log),
        *required_problems(log),
        *node_id_problems(log, root),
    ]


# ---- rendering -----------------------------------------------------------------------------


def _risk(a: Mapping[str, Any]) -> str:
    return f"{a['severity'].capitalize()} × {a['likelihood']} → **{a['rating']}**"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def matrix_table() -> str:
    """The DCB0129 matrix as a Markdown table, likelihood down, severity across."""
    head = "| Likelihood ↓ / Severity → | " + " | ".join(s.capitalize() for s in SEVERITIES)
    lines = [head + " |", "|---|" + ":---:|" * len(SEVERITIES)]
    for likelihood in reversed(LIKELIHOODS):
        cells = " | ".join(str(r) for r in MATRIX[likelihood])
        lines.append(f"| **{likelihood.capitalize()}** | {cells} |")
    lines += ["", "| Rating | Acceptability (DCB0129 Implementation Guidance v3.2, Table 10) |"]
    lines.append("|:---:|---|")
    lines += [f"| {n} | {ACCEPTABILITY[n]} |" for n in sorted(ACCEPTABILITY, reverse=True)]
    return "\n".join(lines)


def residual_table(log: Mapping[str, Any], page: str = "hazard-log.md") -> str:
    """One row per hazard: its risk before, now and once the planned work is done."""
    lines = [
        "| Hazard | Initial | Residual now | With planned controls | Status | Controls "
        "(implemented · planned · transferred) |",
        "|---|:---:|:---:|:---:|---|:---:|",
    ]
    ordered = sorted(hazards(log), key=lambda h: (-h["residual"]["rating"], h["id"]))
    for h in ordered:
        count = {s: sum(c["status"] == s for c in controls(h)) for s in CONTROL_STATES}
        target = str(h["target"]["rating"]) if "target" in h else "–"
        lines.append(
            f"| [{h['id']}]({page}#{h['id'].lower()}) {_cell(h['title'])} "
            f"| {h['initial']['rating']} | **{h['residual']['rating']}** | {target} "
            f"| {h['status'].capitalize()} "
            f"| {count['implemented']} · {count['planned']} · {count['transferred']} |"
        )
    return "\n".join(lines)


def risk_counts(log: Mapping[str, Any]) -> str:
    """How many hazards sit at each residual rating, worst first."""
    counts = dict.fromkeys(range(5, 0, -1), 0)
    for h in hazards(log):
        counts[h["residual"]["rating"]] += 1
    parts = [f"{counts[n]} at {n}" for n in counts if counts[n]]
    return f"{len(hazards(log))} hazards; residual risk: " + ", ".join(parts) + "."


def control_list(log: Mapping[str, Any], state: str) -> str:
    """Every control in `state`, by hazard: the open actions, or the deploying organisation's."""
    lines = []
    for h in hazards(log):
        for control in controls(h):
            if control["status"] != state:
                continue
            line = f"- **{h['id']}** ({_cell(h['title'])}): {_cell(control['description'])}"
            if state == "planned":
                line += f" *To be built: {_cell(control['work'])}.*"
            lines.append(line)
    return "\n".join(lines)


def render_log(log: Mapping[str, Any]) -> str:
    """The hazard log as Markdown (generated: edit the TOML, then run this script)."""
    meta = log["log"]
    out = [
        f"# Hazard log: {meta['system']}",
        "",
        "<!-- Generated from hazard-log.toml by scripts/hazard_log.py: edit the TOML, not this. -->",
        "",
        "| | |",
        "|---|---|",
        f"| Standard | {meta['standard']} |",
        f"| Guidance | {meta['guidance']} |",
        f"| Version | {meta['version']}, {meta['date']} |",
        f"| Configuration assessed | {_cell(meta['configuration'])} |",
        f"| Clinical Safety Officer approval (§3.3.2) | {_cell(meta.get('approval', 'none'))} |",
        "",
        _cell(meta.get("preface", "")),
        "",
        "Ratings follow the DCB0129 matrix in the "
        "[clinical risk management plan](clinical-risk-management-plan.md#risk-matrix); "
        "the residual risk counts implemented controls only.",
        "",
        "## Summary",
        "",
        risk_counts(log),
        "",
        residual_table(log, page=""),
        "",
    ]
    for h in hazards(log):
        out += [f"## {h['id']}", "", f"### {h['title']}", ""]
        if h.get("covers"):
            out += [f"*Issue 14 asks for: {REQUIRED[h['covers']]}.*", ""]
        out += [
            _cell(h["description"]),
            "",
            "| | |",
            "|---|---|",
            "| Causes | "
            + "<br>".join(f"{i}. {_cell(c)}" for i, c in enumerate(h["causes"], 1))
            + " |",
            f"| Effect | {_cell(h['effect'])} |",
            f"| Harm | {_cell(h['harm'])} |",
            f"| Initial risk | {_risk(h['initial'])} |",
            f"| Residual risk (implemented controls) | {_risk(h['residual'])} |",
        ]
        if "target" in h:
            out.append(f"| Risk once the planned controls are built | {_risk(h['target'])} |")
        out += [f"| Status | {h['status'].capitalize()} |", f"| Owner | {_cell(h['owner'])} |", ""]
        out += ["| # | Control | Kind | State | Evidence |", "|---|---|---|---|---|"]
        for c, control in enumerate(controls(h), 1):
            if control["status"] == "implemented":
                evidence = "<br>".join(f"`{t}`" for t in control["tests"])
            elif control["status"] == "planned":
                evidence = f"to be built: {_cell(control['work'])}"
            else:
                evidence = "the deploying organisation (DCB0160)"
            kind = "business process" if control["kind"] == "procedure" else control["kind"]
            out.append(
                f"| {c} | {_cell(control['description'])} | {kind} | {control['status']} "
                f"| {evidence} |"
            )
        if h.get("notes"):
            out += ["", _cell(h["notes"])]
        out.append("")
    return "\n".join(out)


BLOCK = "<!-- {name}: generated by scripts/hazard_log.py -->"
END = "<!-- end {name} -->"


def blocks(text: str) -> Iterator[str]:
    for match in re.finditer(r"<!-- (\S+): generated by scripts/hazard_log.py -->", text):
        yield match.group(1)


def with_block(text: str, name: str, content: str) -> str:
    """`text` with the generated block `name` replaced by `content` (the markers kept)."""
    start, end = BLOCK.format(name=name), END.format(name=name)
    if start not in text or end not in text:
        msg = f"no block {name!r} (between {start} and {end})"
        raise ValueError(msg)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def rendered(log: Mapping[str, Any]) -> dict[Path, str]:
    """Every generated file's expected content."""
    generated = {LOG_MD: render_log(log)}
    plan = with_block(PLAN_MD.read_text(encoding="utf-8"), "risk-matrix", matrix_table())
    generated[PLAN_MD] = plan
    report = REPORT_MD.read_text(encoding="utf-8")
    report = with_block(report, "risk-counts", risk_counts(log))
    report = with_block(report, "residual-risks", residual_table(log))
    report = with_block(report, "open-actions", control_list(log, "planned"))
    report = with_block(report, "transferred-controls", control_list(log, "transferred"))
    generated[REPORT_MD] = report
    return generated


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check only; write nothing")
    args = parser.parse_args(argv)
    log = load()
    found = problems(log)
    for problem in found:
        print(f"hazard log: {problem}", file=sys.stderr)
    if found:
        return 1
    stale = []
    for path, content in rendered(log).items():
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(
            f"hazard log: {path.relative_to(ROOT)} is out of step: run {__file__}", file=sys.stderr
        )
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
