"""Chart files: what loads, and the clear refusal of what is malformed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from scoring import ChartError, load_charts, score
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


def test_unknown_cohort_target_is_refused(tmp_path):
    _write(
        tmp_path,
        'adult = "news3"\nchild = "pews-nhse-2023"\nmaternity = "meows-send"\n',
        "cohorts.toml",
    )
    with pytest.raises(ChartError, match="news3"):
        load_charts([tmp_path])
