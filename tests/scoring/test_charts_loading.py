"""Chart files: what loads, and the clear refusal of what is malformed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from scoring import BandPrompt, ChartError, TotalPrompt, load_charts, score
from tests.factories import CHART_IDS, NEWS2_NORMAL, make_ctx, make_obs

NEWS2 = (resources.files("scoring") / "charts" / "news2.toml").read_text(encoding="utf-8")


def test_shipped_charts_carry_id_source_and_status(charts):
    assert set(charts.charts) == set(CHART_IDS)
    for chart in charts.charts.values():
        assert chart.source
        assert chart.spec.startswith("SPEC §")
        assert chart.status in ("EXACT", "EXACT-WITH-CAVEATS")
    assert dict(charts.cohorts) == {
        "adult": "news2",
        "child": "pews-nhse-2023",
        "maternity": "meows-send",
    }


def _write(tmp_path: Path, text: str, name: str = "local.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_trust_adds_a_chart_as_a_file_and_points_a_cohort_at_it(tmp_path):
    # A new maternity chart (here: NEWS2's tables under another id) is data alone.
    _write(
        tmp_path,
        NEWS2.replace('id = "news2"', 'id = "local-maternity"').replace(
            'system = "NEWS2"', 'system = "MEWS"'
        ),
    )
    _write(
        tmp_path,
        'adult = "news2"\nchild = "pews-nhse-2023"\nmaternity = "local-maternity"\n',
        "cohorts.toml",
    )
    charts = load_charts([tmp_path])
    result = score(make_obs(NEWS2_NORMAL), make_ctx(cohort="maternity"), charts)
    assert (result.chart, result.system, result.total) == ("local-maternity", "MEWS", 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("{ ge = 9, le = 11, points = 1 }", "{ ge = 8, le = 11, points = 1 }"), "overlap"),
        (
            ("{ ge = 12, le = 20, points = 0 }", "{ ge = 13, le = 20, points = 0 }"),
            "gap a value rounded",
        ),
        (
            ("{ le = 8, points = 3 }", "{ ge = 1, le = 8, points = 3 }"),
            "first band must have no lower bound",
        ),
        (
            ("{ ge = 25, points = 3 }", "{ ge = 25, le = 60, points = 3 }"),
            "last band must have no upper bound",
        ),
        (("{ le = 8, points = 3 }", "{ le = 8, pts = 3 }"), "unknown key"),
        (('level = "low-medium"', 'level = "amber"'), "unknown level 'amber'"),
        (
            ("when = { spo2_scale = 2, on_oxygen = true }", "when = { spo2_scale = 2 }"),
            "variants match",
        ),
        (('status = "EXACT"', 'status = "PROBABLY"'), "status must be one of"),
        (
            ('between_bands = "round-half-up"', 'between_bands = "nearest"'),
            "between_bands must be one of",
        ),
        (("categories = { A = 0,", "categories = { A = 0, Q = 1,"), None),
        (("precision = 1\n", ""), "needs 'precision'"),
        (("[items.resp_rate]", "[items.resp_rate"), "not valid TOML"),
    ],
)
def test_malformed_chart_is_refused_naming_the_file(tmp_path, change, message):
    old, new = change
    assert old in NEWS2
    path = _write(tmp_path, NEWS2.replace(old, new, 1))
    if message is None:
        load_charts([path])  # an extra category is allowed; nothing to refuse
        return
    with pytest.raises(ChartError) as info:
        load_charts([path])
    assert str(path) in str(info.value)
    assert message in str(info.value)


PEWS = (resources.files("scoring") / "charts" / "pews-nhse-2023.toml").read_text(encoding="utf-8")
SEPSIS = "total_ge = 5\nwhen_infection = true\n"
"""NEWS2's total prompt (think sepsis, SPEC §5.2) as its chart file writes it."""


@pytest.mark.parametrize(
    ("text", "change", "message"),
    [
        (NEWS2, (SEPSIS, SEPSIS + "when_infected = true\n"), "unknown key(s) ['when_infected']"),
        (NEWS2, ("total_ge = 5", 'total_ge = "5"'), "'total_ge' has the wrong type"),
        (NEWS2, ("total_ge = 5", "total_ge = true"), "'total_ge' has the wrong type"),
        (NEWS2, ("total_ge = 5", "total_ge = 0"), "from 1 to the chart's highest total (20)"),
        (NEWS2, ("total_ge = 5", "total_ge = 21"), "from 1 to the chart's highest total (20)"),
        (NEWS2, ("when_infection = true", 'when_infection = "yes"'), "'when_infection' has the wrong type"),
        (NEWS2, (SEPSIS, "total_ge = 5\n"), "'when_infection' is required"),
        (NEWS2, (SEPSIS, "when_infection = true\n"), "'total_ge' is required"),
        (NEWS2, (SEPSIS, ""), "needs 'input' and 'bands', or 'total_ge' and 'when_infection'"),
        (NEWS2, (SEPSIS, SEPSIS + 'input = "temperature"\n'), "mixes the band form (input) and the total form (total_ge, when_infection)"),
        (NEWS2, ('id = "think-sepsis"', 'id = ""'), "prompts[0]: 'id' must not be empty"),
        (NEWS2, ('id = "think-sepsis"', "id = 5"), "prompts[0]: 'id' has the wrong type"),
        (NEWS2, ('source = "RCP NEWS2 2017; SPEC §5.2"', "source = 2017"), "'source' has the wrong type"),
        (NEWS2, ("[[prompts]]", "[prompts]"), "'prompts' must be an array of tables"),
        (NEWS2, ("[[prompts]]", '[[prompts]]\nid = "think-sepsis"\ntext = "again"\n' + SEPSIS + "\n[[prompts]]"), "prompt ids must be unique"),
        (PEWS, ('input = "temperature"\ntext', 'input = "temperature"\ntotal_ge = 5\ntext'), "mixes the band form (bands, input) and the total form (total_ge)"),
        (PEWS, ('input = "temperature"\ntext', 'input = "consciousness"\ntext'), "'input' must be a numeric vital"),
        (PEWS, ('input = "temperature"\ntext', 'input = "temperature"\ntexts = "x"\ntext'), "unknown key(s) ['texts']"),
        (PEWS, ("{ lt = 36.0, prompt = true }", "{ lt = 36.0, prompt = 1 }"), "'prompt' must be true or false"),
        (PEWS, ("{ lt = 36.0, prompt = true }", "{ ge = 30.0, lt = 36.0, prompt = true }"), "first band must have no lower bound"),
    ],
)  # fmt: skip
def test_malformed_prompt_is_refused_naming_file_and_field(tmp_path, text, change, message):
    old, new = change
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ChartError) as info:
        load_charts([path])
    assert str(path) in str(info.value)
    assert "prompts" in str(info.value)
    assert message in str(info.value)


def test_news2_think_sepsis_is_a_total_prompt_and_pews_keeps_its_band_prompt(charts):
    [news2] = charts.charts["news2"].prompts
    assert isinstance(news2, TotalPrompt)
    assert (news2.id, news2.total_ge, news2.when_infection) == ("think-sepsis", 5, True)
    for age in ("0-11m", "1-4y", "5-12y", "13+y"):
        [pews] = charts.charts[f"pews-nhse-2023-{age}"].prompts
        assert isinstance(pews, BandPrompt)
        assert (pews.id, pews.lookup.input) == ("think-sepsis", "temperature")
    for chart_id in ("meows-send", "mews-subbe-2001"):
        assert charts.charts[chart_id].prompts == ()


def test_unknown_cohort_target_is_refused(tmp_path):
    _write(
        tmp_path,
        'adult = "news3"\nchild = "pews-nhse-2023"\nmaternity = "meows-send"\n',
        "cohorts.toml",
    )
    with pytest.raises(ChartError, match="news3"):
        load_charts([tmp_path])
