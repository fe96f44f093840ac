"""One vocabulary (issue 13): every value the scorer can emit is known to the vocabulary the
wallboard serves, and the pages keep no copy of their own.

What the scorer can emit is derived from its data and its code, never typed out again here:
the charts' responses and risks, the ladders' keys, the AKI stages of the AKI rules, the
lifecycle's states, the `KIND` and `SEVERITIES` of every alert rule module, and the events of
a real `OnlineScorer` run through every kind of alert (`tests.wallboard.test_contract`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
import typing
from importlib import resources
from typing import Any

import httpx
import pytest

from ingest import vocabulary
from scoring import ChartSet, Vitals
from surveillance import DEFAULT_ALERT_RESPONSES, DEFAULT_LADDERS, State
from surveillance.online import rules
from tests import ROOT
from tests.wallboard.test_contract import ScorerRun, scorer_run
from wallboard import Auth, BrokerFeed, create_app

STATIC = ROOT / "wallboard" / "static"
VOCABULARY = vocabulary()
SEVERITIES = [term["id"] for term in VOCABULARY["severities"]]
KINDS = [term["id"] for term in VOCABULARY["kinds"]]
STATES = [term["id"] for term in VOCABULARY["states"]]


def _rules(name: str) -> dict[str, Any]:
    text = resources.files("scoring").joinpath("rules", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def aki_severities() -> set[str]:
    """`aki-N` for every stage the AKI rules grade (their `ratio_ge.stageN` keys)."""
    stages = {re.fullmatch(r"stage(\d+)", key) for key in _rules("aki.toml")["ratio_ge"]}
    return {f"aki-{match.group(1)}" for match in stages if match is not None}


def chart_responses(charts: ChartSet) -> set[str]:
    return {level.response for c in charts.charts.values() for level in c.escalation.levels}


def emitted_by_rules() -> tuple[set[str], set[str]]:
    """The kind and the severities (besides the charts' responses) of every alert rule module:
    a new rule module is found here without anyone listing it."""
    kinds: set[str] = set()
    severities: set[str] = set()
    for info in pkgutil.iter_modules(rules.__path__):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        if hasattr(module, "KIND"):
            kinds.add(module.KIND)
            severities |= set(module.SEVERITIES)
    return kinds, severities


def known(value: str, ids: list[str]) -> bool:
    if value.endswith("*"):  # an f-string's prefix: some id must start with it
        return any(i.startswith(value[:-1]) for i in ids)
    return value in ids


# ---- the scorer's data and code --------------------------------------------------------------


def test_every_chart_response_is_a_known_severity(charts: ChartSet) -> None:
    """A trust may let any response raise alerts (`alert_responses`): all must be known."""
    responses = chart_responses(charts)
    assert responses >= DEFAULT_ALERT_RESPONSES
    assert responses - set(SEVERITIES) == set()


def test_every_aki_stage_is_a_known_severity() -> None:
    stages = aki_severities()
    assert stages == {"aki-1", "aki-2", "aki-3"}  # the rules file still grades three stages
    assert stages - set(SEVERITIES) == set()


def test_every_ladder_key_is_a_known_severity_or_kind() -> None:
    """Ladders are looked up by `SYSTEM/severity`, the kind, or the severity."""
    keys = {key.rpartition("/")[2] for key in DEFAULT_LADDERS}
    assert keys - set(SEVERITIES) - set(KINDS) == set()


def test_every_kind_and_severity_in_the_scorers_code_is_known() -> None:
    kinds, severities = emitted_by_rules()
    assert {"score", "feed", "overdue", "sepsis", "aki"} <= kinds  # every rule module is found
    assert [k for k in kinds if not known(k, KINDS)] == []
    assert [s for s in severities if not known(s, SEVERITIES)] == []


def test_the_states_are_the_lifecycles() -> None:
    assert set(STATES) == set(typing.get_args(State))
    assert {t["id"] for t in VOCABULARY["states"] if t["open"]} == set(STATES) - {"resolved"}


def test_every_charts_risks_are_known_in_the_charts_order(charts: ChartSet) -> None:
    for chart in charts.charts.values():
        risks = [t["id"] for t in VOCABULARY["risks"][chart.system]]
        used = list(dict.fromkeys(level.risk for level in chart.escalation.levels))
        assert [r for r in used if r not in risks] == [], chart.id
        assert used == sorted(used, key=risks.index), f"{chart.id}: risks out of order"


def test_every_vital_and_scored_parameter_has_a_label(charts: ChartSet) -> None:
    labelled = {v["key"] for v in VOCABULARY["vitals"]}
    assert set(Vitals.__struct_fields__) - labelled == set()
    parameters = {item.key for chart in charts.charts.values() for item in chart.items}
    assert parameters - labelled == set()


def test_every_charts_prompt_has_a_label(charts: ChartSet) -> None:
    prompts = {prompt.id for chart in charts.charts.values() for prompt in chart.prompts}
    assert prompts
    assert prompts - {t["id"] for t in VOCABULARY["prompts"]} == set()


def test_severities_rank_aki_with_the_score_responses_of_like_urgency() -> None:
    """The console's order: AKI stage 3 sorts with urgent responses, never last as 'info'."""
    rank = SEVERITIES.index
    assert rank("emergency") < rank("urgent") < rank("aki-3") < rank("urgent-ward")
    assert rank("aki-3") < rank("aki-2") < rank("aki-1") < rank("routine")
    tones = {t["id"]: t["tone"] for t in VOCABULARY["severities"]}
    assert tones["aki-3"] == "orange"
    assert all(tone in VOCABULARY["tones"] for tone in tones.values())


# ---- a real run of the scorer ------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(charts: ChartSet) -> ScorerRun:
    return scorer_run(charts)


def test_every_event_of_a_real_run_is_known(run: ScorerRun) -> None:
    kinds = {event["kind"] for event in run.alerts}
    assert kinds == {"score", "sepsis", "aki", "feed", "overdue"}  # the run covers them all
    assert {e["state"] for e in run.alerts} == {"raised", "escalated", "acknowledged", "resolved"}
    unknown = [
        (e["kind"], e["severity"], e["state"])
        for e in run.alerts
        if e["kind"] not in KINDS or e["severity"] not in SEVERITIES or e["state"] not in STATES
    ]
    assert unknown == []
    for score in run.scores:
        risks = [t["id"] for t in VOCABULARY["risks"][score["system"]]]
        assert score["risk"] in risks


# ---- served, and used instead of copies ------------------------------------------------------


async def test_the_server_serves_the_vocabulary_to_pages_and_other_clients() -> None:
    transport = httpx.ASGITransport(
        app=create_app(BrokerFeed("127.0.0.1", 1), auth=Auth.without_login("none"))
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        api = await client.get("/api/vocabulary")
        module = await client.get("/vocabulary.js")
    assert api.status_code == 200
    assert api.json() == VOCABULARY
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    prefix = "export const VOCABULARY = "
    line = next(x for x in module.text.splitlines() if x.startswith(prefix))
    assert line.removeprefix(prefix).removesuffix(";") == api.text


@pytest.mark.parametrize("script", sorted(p.name for p in STATIC.glob("*.js")))
def test_no_page_keeps_its_own_copy_of_the_vocabulary(script: str) -> None:
    """No severity, kind or risk word is typed out in a page's script."""
    text = (STATIC / script).read_text(encoding="utf-8")
    words = [t["label"] for t in VOCABULARY["severities"]]
    words += [t["label"] for t in VOCABULARY["kinds"] if t["id"] != "score"]
    words += [t["label"] for terms in VOCABULARY["risks"].values() for t in terms]
    ids = [s for s in SEVERITIES if "-" in s]  # "rapid-review", "aki-3": never generic words
    copies = [w for w in words if f'"{w}"' in text] + [i for i in ids if f'"{i}"' in text]
    assert copies == []
    assert "SEVERITY_ORDER" not in text
