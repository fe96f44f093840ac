"""Whom a chart is for (SPEC §1: "NEWS2 is not for under-16s or for pregnancy"): a set for
anyone else is scored with a query to check the cohort (safety case HAZ-010, action SC-2)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scoring import ChartError, ChartSet, load_charts, score, score_batch
from tests import ROOT
from tests.factories import NEWS2_NORMAL, make_ctx, make_obs

AT = "2026-11-22T09:30:00Z"
QUERY = (
    "NEWS2 is not for under-16s or pregnancy or after birth, and this patient's admission "
    "details suggest one of them. Check the cohort (a child: PEWS; pregnant or after birth: "
    "the maternity chart)"
)


def queries(charts: ChartSet, **context: Any) -> list[str]:
    ctx = make_ctx(patient_id="P1", **context)
    single = score(make_obs(NEWS2_NORMAL, time=AT), ctx, charts).queries
    [batch] = score_batch([(make_obs(NEWS2_NORMAL, time=AT), ctx)], charts)
    assert not isinstance(batch, Exception)
    assert batch.queries == single  # the batch path says the same
    return single


@pytest.mark.parametrize(
    ("birth_date", "queried"),
    [
        ("2010-11-22", False),  # 16 today
        ("2010-11-23", True),  # 16 tomorrow: 15 at this observation
        ("2020-01-01", True),
        ("1948-03-02", False),
        ("2026-11-22", True),  # born today
    ],
)
def test_news2_queries_a_patient_under_16(charts: ChartSet, birth_date: str, queried: bool) -> None:
    found = queries(charts, cohort="adult", birth_date=birth_date)
    assert found == ([QUERY] if queried else [])


@pytest.mark.parametrize(
    "fields",
    [
        {"gestation_weeks": 30},
        {"postnatal_days": 3},
        {"postnatal_days": 0},
        {"gestation_weeks": 39.5, "postnatal_days": 0},
        {"gestation_weeks": 30, "birth_date": "2012-01-01"},  # both: one query
    ],
)
def test_news2_queries_pregnancy_and_after_birth(charts: ChartSet, fields: dict[str, Any]) -> None:
    assert queries(charts, cohort="adult", **fields) == [QUERY]


def test_the_query_gives_away_no_birth_date_nor_gestation(charts: ChartSet) -> None:
    """Queries reach the ward's public board, which shows neither (CONTRACT §2)."""
    [query] = queries(charts, cohort="adult", birth_date="2012-03-04", gestation_weeks=31)
    assert "2012" not in query
    assert "31" not in query


def test_an_adult_without_those_details_is_not_queried(charts: ChartSet) -> None:
    assert queries(charts, cohort="adult") == []


def test_the_charts_made_for_them_ask_nothing(charts: ChartSet) -> None:
    assert queries(charts, cohort="maternity", gestation_weeks=30, birth_date="2009-01-01") == []


def test_a_child_on_pews_is_not_queried(charts: ChartSet) -> None:
    ctx = make_ctx(patient_id="P1", cohort="child", birth_date="2020-01-01")
    assert score(make_obs({"resp_rate": 30}, time=AT), ctx, charts).queries == []


@pytest.mark.parametrize(
    ("population", "error"),
    [
        ({"min_age_years": -1}, "min_age_years must be a whole number"),
        ({"min_age_years": 16.5}, "min_age_years must be a whole number"),
        ({"pregnancy": "no"}, "pregnancy must be true or false"),
        ({"ages": 16}, "unknown key(s) ['ages']"),
    ],
)
def test_a_wrong_population_is_refused_at_load(
    population: dict[str, Any], error: str, tmp_path: Path
) -> None:
    raw = (ROOT / "scoring" / "charts" / "news2.toml").read_text()
    head, _, rest = raw.partition("[population]")
    body = rest.split("\n\n", 1)[1]  # the chart after the shipped population table
    lines = "\n".join(f"{k} = {tomllib_dump(v)}" for k, v in population.items())
    text = head.replace('id = "news2"', 'id = "news2-local"') + f"[population]\n{lines}\n\n" + body
    tomllib.loads(text)  # the file itself is valid TOML
    (tmp_path / "local.toml").write_text(text)
    with pytest.raises(ChartError, match=re.escape(error)):
        load_charts([tmp_path / "local.toml"])


def tomllib_dump(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
