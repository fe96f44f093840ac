"""AKI warning stage for adults (SPEC §4.1, windows of §0.6): every edge, both sides.

Every expected stage below was worked out from SPEC.md, not from scoring/rules/aki.toml, so a
slip in the rules file fails here; so does a property test against an independent reference
written in the SPEC's multiplication form (`C1 >= 1.5 * RV`) in decimal arithmetic.

A history is a list of (age, value): age = how long before the current result it was taken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scoring import AkiResult, ChartError, Creatinine, aki_stage, load_aki_rules

T0 = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
US = timedelta(microseconds=1)
H = timedelta(hours=1)
DAY = timedelta(days=1)
RV1_EDGE = 7 * 24 * H  # SPEC §0.6: RV1 in the 7 × 24 h before; RV2 from there
YEAR_EDGE = 365 * DAY  # SPEC §0.6 and §4.1 step 1
RISE_EDGE = 48 * H  # SPEC §4.1 step 4
RULES_TEXT = (resources.files("scoring") / "rules" / "aki.toml").read_text(encoding="utf-8")

History = list[tuple[timedelta, float]]


def run(c1: float, history: History, at: datetime = T0) -> AkiResult:
    return aki_stage(Creatinine(at, c1), [Creatinine(at - age, v) for age, v in history])


def case(
    id_: str,
    c1: float,
    history: History,
    stage: int | None,
    rv1: float | None = None,
    rv2: float | None = None,
):
    return pytest.param(c1, history, stage, rv1, rv2, id=id_)


THREE_DAYS = 3 * DAY  # inside RV1, outside the 48 h window: only the ratio rule can fire
MONTH = 30 * DAY  # inside RV2

CASES = [
    # Ratio thresholds, RV1 (SPEC §4.1 step 3, step 5: inclusive lower bounds).
    case("ratio-1.50-exact", 150, [(THREE_DAYS, 100)], 1, 100),
    case("ratio-1.49", 149, [(THREE_DAYS, 100)], None, 100),
    case("ratio-2.00-exact", 200, [(THREE_DAYS, 100)], 2, 100),
    case("ratio-1.99", 199, [(THREE_DAYS, 100)], 1, 100),
    case("ratio-3.00-exact", 300, [(THREE_DAYS, 100)], 3, 100),
    case("ratio-2.99", 299, [(THREE_DAYS, 100)], 2, 100),
    # Inexact in binary: 75.3 / 50.2 = 1.4999999999999998 and 150.6 / 50.2 = 2.9999999999999996
    # in floating point; exactly 1.5 and 3.
    case("ratio-1.5-float-below", 75.3, [(THREE_DAYS, 50.2)], 1, 50.2),
    case("ratio-1.5-float-below-minus-0.01", 75.29, [(THREE_DAYS, 50.2)], None, 50.2),
    case("ratio-1.5x87.3", 130.95, [(THREE_DAYS, 87.3)], 1, 87.3),
    case("ratio-1.5x87.3-minus-0.01", 130.94, [(THREE_DAYS, 87.3)], None, 87.3),
    case("ratio-3-float-below", 150.6, [(THREE_DAYS, 50.2)], 3, 50.2),
    case("ratio-3-float-below-minus-0.1", 150.5, [(THREE_DAYS, 50.2)], 2, 50.2),
    # RV2 = median(50.1, 50.2) = 50.15; 100.3 / ((50.1 + 50.2) / 2) = 1.9999999999999998 in float.
    case("ratio-2-median-float-below", 100.3, [(MONTH, 50.1), (2 * MONTH, 50.2)], 2, None, 50.15),
    case("ratio-2-median-minus-0.01", 100.29, [(MONTH, 50.1), (2 * MONTH, 50.2)], 1, None, 50.15),
    # Absolute 354 µmol/L: strict, and only inside the RatioRV ≥ 1.5 branch.
    case("abs-355-ratio-1.78", 355, [(THREE_DAYS, 200)], 3, 200),
    case("abs-354-ratio-1.77", 354, [(THREE_DAYS, 200)], 1, 200),
    case("abs-354.1-ratio-1.77", 354.1, [(THREE_DAYS, 200)], 3, 200),
    case("abs-355-before-stage-2", 355, [(THREE_DAYS, 142)], 3, 142),
    case("abs-354-ratio-2.49-stage-2", 354, [(THREE_DAYS, 142)], 2, 142),
    case("abs-500-ratio-1.25-no-stage-3", 500, [(THREE_DAYS, 400)], None, 400),
    case("abs-500-ratio-1.25-rise-stage-1", 500, [(THREE_DAYS, 400), (24 * H, 400)], 1, 400),
    case("abs-531.8-ratio-1.4997", 531.8, [(MONTH, 354.6)], None, None, 354.6),
    case("abs-531.9-ratio-1.5", 531.9, [(MONTH, 354.6)], 3, None, 354.6),
    # The 48 h rise (SPEC §4.1 step 4): D > 26 strictly, from the lowest result within 48 h.
    case("rise-26", 126, [(24 * H, 100)], None, 100),
    case("rise-26.1", 126.1, [(24 * H, 100)], 1, 100),
    case("rise-27", 127, [(24 * H, 100)], 1, 100),
    # 86.4 − 60.4 = 26.000000000000007 in floating point; exactly 26.
    case("rise-26-float-above", 86.4, [(24 * H, 60.4)], None, 60.4),
    case("rise-26.1-float", 86.5, [(24 * H, 60.4)], 1, 60.4),
    case("rise-from-lowest-in-48h", 127, [(12 * H, 110), (24 * H, 100)], 1, 100),
    case("rise-at-exactly-48h", 127, [(RISE_EDGE, 100), (1 * H, 110)], 1, 100),
    case("rise-at-48h-plus-1us", 127, [(RISE_EDGE + US, 100), (1 * H, 110)], None, 100),
    case("rise-no-result-in-48h", 127, [(RISE_EDGE + US, 100)], None, 100),
    # RV1 window edge (SPEC §0.6): exactly 7 × 24 h before is RV1; a microsecond more is RV2.
    case("rv1-edge-exact", 150, [(RV1_EDGE, 100), (RV1_EDGE + DAY, 200)], 1, 100, 200),
    case("rv1-edge-plus-1us", 150, [(RV1_EDGE + US, 100), (RV1_EDGE + DAY, 200)], None, None, 150),
    case("rv1-lowest-of-several", 150, [(THREE_DAYS, 120), (5 * DAY, 100), (6 * DAY, 130)], 1, 100),
    # §0.6 puts 7 × 24 h to 8 days in RV2 (§4.1's "8–365 days" would leave a gap).
    case("rv2-at-7.5-days", 150, [(RV1_EDGE + 12 * H, 100)], 1, None, 100),
    case("rv2-at-365-days", 150, [(YEAR_EDGE, 100)], 1, None, 100),
    # Medians (SPEC §4.1 step 2): odd count, the middle; even count, the mean of the two middle.
    case("rv2-median-odd", 200, [(10 * DAY, 150), (20 * DAY, 50), (30 * DAY, 100)], 2, None, 100),
    case("rv2-median-odd-below", 199, [(10 * DAY, 150), (20 * DAY, 50), (30 * DAY, 100)], 1, None, 100),
    case("rv2-median-even", 180, [(9 * DAY, 60), (40 * DAY, 120), (90 * DAY, 80), (200 * DAY, 100)], 2, None, 90),
    case("rv2-median-even-below", 179, [(9 * DAY, 60), (40 * DAY, 120), (90 * DAY, 80), (200 * DAY, 100)], 1, None, 90),
    case("rv2-median-single", 150, [(MONTH, 100)], 1, None, 100),
    # The higher of the two ratios wins.
    case("higher-ratio-rv2", 160, [(THREE_DAYS, 120), (MONTH, 80)], 2, 120, 80),
    case("higher-ratio-rv1", 160, [(THREE_DAYS, 80), (MONTH, 120)], 2, 80, 120),
    case("higher-ratio-rv2-stage-3", 300, [(THREE_DAYS, 200), (MONTH, 100)], 3, 200, 100),
    case("both-ratios-below", 140, [(THREE_DAYS, 100), (MONTH, 95)], None, 100, 95),
    # Only strictly earlier results count; the input need not be sorted.
    case("equal-time-ignored", 150, [(THREE_DAYS, 100), (timedelta(0), 50)], 1, 100),
    case("future-ignored", 150, [(-1 * H, 40), (THREE_DAYS, 100), (-30 * DAY, 10)], 1, 100),
    case(
        "unsorted",
        140,
        [(MONTH, 90), (1 * H, 110), (200 * DAY, 50), (3 * DAY, 100), (-DAY, 1), (50 * DAY, 70)],
        2,
        100,
        70,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("c1", "history", "stage", "rv1", "rv2"), CASES)
def test_stage(c1, history, stage, rv1, rv2):
    result = run(c1, history)
    assert result.baseline
    assert result.stage == stage, result.reason
    assert (result.rv1, result.rv2) == (rv1, rv2)
    assert result.ratio is not None
    low = min(r for r in (rv1, rv2) if r is not None)
    assert result.ratio == Fraction(repr(float(c1))) / Fraction(repr(float(low)))


@pytest.mark.parametrize(
    "history",
    [
        pytest.param([], id="no-results"),
        pytest.param([(YEAR_EDGE + US, 100)], id="365-days-plus-1us"),
        pytest.param([(2 * YEAR_EDGE, 50)], id="two-years"),
        pytest.param([(timedelta(0), 50)], id="equal-time-only"),
        pytest.param([(-1 * H, 50), (-DAY, 40)], id="future-only"),
    ],
)
def test_no_baseline_no_stage(history):
    result = run(400, history)  # 8 × any of these values: it would be stage 3 with a baseline
    assert (result.baseline, result.stage, result.ratio, result.rv1, result.rv2) == (
        False,
        None,
        None,
        None,
        None,
    )
    assert "no baseline" in result.reason


@pytest.mark.parametrize(
    ("c1", "history", "reason"),
    [
        pytest.param(
            199.5,
            [(2 * DAY, 95)],
            "ratio 2.10 to RV1 (lowest in the previous 7 days, 95 µmol/L): stage 2",
            id="stage-2",
        ),
        # 149.99 / 100 is shown as 1.49 (rounded down), never as the threshold it misses.
        pytest.param(
            149.99,
            [(MONTH, 100)],
            "ratio 1.49 to RV2 (median of 1 result from 7 days to 365 days before, 100 µmol/L), "
            "below 1.5; "
            "no result in the previous 48 h: no alert",
            id="rounded-down",
        ),
        pytest.param(
            360,
            [(MONTH, 230), (2 * MONTH, 240)],
            "ratio 1.53 to RV2 (median of 2 results from 7 days to 365 days before, 235 µmol/L), "
            "and "
            "creatinine 360 µmol/L > 354: stage 3",
            id="absolute",
        ),
        pytest.param(
            127,
            [(DAY, 100)],
            "ratio 1.27 to RV1 (lowest in the previous 7 days, 100 µmol/L), below 1.5; rise of "
            "27 µmol/L over the lowest in the previous 48 h (100 µmol/L) > 26: stage 1",
            id="rise",
        ),
    ],
)
def test_reason(c1, history, reason):
    assert run(c1, history).reason == reason


LONDON = ZoneInfo("Europe/London")
# Clocks went forward at 01:00 UTC on 29 March 2026: 08:30 BST on the 30th is 07:30 UTC.
AFTER_CHANGE = datetime(2026, 3, 30, 8, 30, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("previous", "rv1", "rv2", "stage"),
    [
        # 07:30 GMT on the 23rd is exactly 168 h of elapsed time earlier (169 h by the clock).
        pytest.param(datetime(2026, 3, 23, 7, 30, tzinfo=LONDON), 100, 200, 1, id="rv1-edge"),
        pytest.param(
            datetime(2026, 3, 23, 7, 30, tzinfo=LONDON) - US, None, 150, None, id="rv2-side"
        ),
    ],
)
def test_windows_are_elapsed_time_across_a_clock_change(previous, rv1, rv2, stage):
    older = Creatinine(previous - DAY, 200)
    result = aki_stage(Creatinine(AFTER_CHANGE, 150), [Creatinine(previous, 100), older])
    assert (result.rv1, result.rv2, result.stage) == (rv1, rv2, stage)


@pytest.mark.parametrize(
    ("previous", "stage"),
    [
        # 07:30 GMT on the 28th: exactly 48 h elapsed (49 h by the clock): the rise counts.
        pytest.param(datetime(2026, 3, 28, 7, 30, tzinfo=LONDON), 1, id="48h-elapsed"),
        pytest.param(datetime(2026, 3, 28, 7, 30, tzinfo=LONDON) - US, None, id="48h-plus-1us"),
    ],
)
def test_rise_window_is_elapsed_time_across_a_clock_change(previous, stage):
    result = aki_stage(Creatinine(AFTER_CHANGE, 127), [Creatinine(previous, 100)])
    assert result.stage == stage


def test_other_time_zones_are_compared_as_instants():
    cet = ZoneInfo("Europe/Paris")
    current = Creatinine(datetime(2026, 11, 22, 10, 30, tzinfo=cet), 127)  # 09:30 UTC
    edge = Creatinine(T0 - RISE_EDGE, 100)
    assert aki_stage(current, [edge]).stage == 1
    assert aki_stage(current, [Creatinine(edge.time - US, 100)]).stage is None


@pytest.mark.parametrize(
    ("time", "value"),
    [
        pytest.param(datetime(2026, 11, 22, 9, 30), 100, id="naive-time"),
        pytest.param(T0, 0, id="zero"),
        pytest.param(T0, -5, id="negative"),
        pytest.param(T0, float("nan"), id="nan"),
        pytest.param(T0, float("inf"), id="inf"),
        pytest.param(T0, True, id="bool"),
        pytest.param(T0, "100", id="string"),
    ],
)
def test_creatinine_refuses_bad_input(time, value):
    with pytest.raises(ValueError, match="creatinine"):
        Creatinine(time, value)


def test_shipped_rules_are_the_spec():
    rules = load_aki_rules()
    assert (rules.stage1_ratio, rules.stage2_ratio, rules.stage3_ratio) == (
        Fraction(3, 2),
        Fraction(2),
        Fraction(3),
    )
    assert (rules.stage3_creatinine_gt, rules.rise_gt) == (Fraction(354), Fraction(26))
    assert (rules.rv1.low, rules.rv1.low_inclusive) == (timedelta(0), False)
    assert (rules.rv1.high, rules.rv1.high_inclusive) == (RV1_EDGE, True)
    assert (rules.rv2.low, rules.rv2.low_inclusive) == (RV1_EDGE, False)
    assert (rules.rv2.high, rules.rv2.high_inclusive) == (YEAR_EDGE, True)
    assert (rules.baseline.low, rules.baseline.high) == (timedelta(0), YEAR_EDGE)
    assert (rules.rise.low, rules.rise.high, rules.rise.high_inclusive) == (
        timedelta(0),
        RISE_EDGE,
        True,
    )
    assert rules.source
    assert rules.spec.startswith("SPEC §4.1")
    assert rules.status == "EXACT-WITH-CAVEATS"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aki.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rules_file_changes_the_thresholds(tmp_path):
    path = _write(tmp_path, RULES_TEXT.replace("stage1 = 1.5", "stage1 = 1.3", 1))
    rules = load_aki_rules(path)
    assert aki_stage(Creatinine(T0, 130), [Creatinine(T0 - THREE_DAYS, 100)], rules).stage == 1
    assert aki_stage(Creatinine(T0, 129), [Creatinine(T0 - THREE_DAYS, 100)], rules).stage is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param("stage2 = 2.0\n", "", "'ratio_ge.stage2' is required", id="missing"),
        pytest.param("stage2 = 2.0", 'stage2 = "2.0"', "'ratio_ge.stage2' must be", id="string"),
        pytest.param("stage2 = 2.0", "stage2 = true", "'ratio_ge.stage2' must be", id="bool"),
        pytest.param("stage2 = 2.0", "stage2 = nan", "'ratio_ge.stage2' must be", id="nan"),
        pytest.param("stage2 = 2.0", "stage2 = 3.5", "stage1 < stage2 < stage3", id="order"),
        pytest.param("stage3 = 3.0", "stage3 = 3.0\nstage4 = 4.0", "ratio_ge.stage4", id="unknown"),
        pytest.param("rise = 26 ", "rise = -1 ", "creatinine_gt.rise", id="negative-rise"),
        pytest.param("stage3 = 354", "stage3 = 0", "creatinine_gt.stage3", id="zero-abs"),
        pytest.param("[windows]", "[windowz]", "unknown key(s) windowz", id="unknown-table"),
        pytest.param("{ gt = 168,", "{ ge = 168,", "windows.rv2: must start", id="overlap"),
        pytest.param("{ gt = 168,", "{ gt = 170,", "windows.rv2: must start", id="gap"),
        pytest.param(
            "baseline = { gt = 0, le = 8760 }",
            "baseline = { gt = 0, le = 8784 }",
            "windows.baseline",
            id="baseline-span",
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { ge = 0, le = 48 }", "windows.rise", id="ge-0"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { gt = 0 }", "'windows.rise' needs", id="no-upper"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { gt = 0, le = 48, lt = 49 }", "'windows.rise' needs", id="two-upper"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { gt = 0, days = 2 }", "windows.rise.days", id="unknown-bound"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", 'rise = { gt = 0, le = "48" }', "'windows.rise.le' must be", id="str-hours"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { gt = 0, le = 0 }", "'windows.rise': the upper", id="empty"
        ),
        pytest.param(
            "rise = { gt = 0, le = 48 }", "rise = { gt = 0, le = 1e-12 }", "microseconds", id="sub-us"
        ),
        pytest.param('status = "EXACT-WITH-CAVEATS"', 'status = "SURE"', "'status' must be", id="status"),
        pytest.param('unit = "umol/L"', 'unit = "mg/dL"', "'unit' must be", id="unit"),
        pytest.param('id = "aki-nhse-2014"', 'id = ""', "'id' is empty", id="empty-id"),
        pytest.param('id = "aki-nhse-2014"', 'id = "x"\nchildren = 1', "unknown key(s) children", id="unknown-top"),
        pytest.param("[ratio_ge]", "[ratio_ge", "not valid TOML", id="toml"),
    ],
)  # fmt: skip
def test_malformed_rules_are_refused_naming_file_and_field(tmp_path, old, new, message):
    assert old in RULES_TEXT
    path = _write(tmp_path, RULES_TEXT.replace(old, new, 1))
    with pytest.raises(ChartError) as info:
        load_aki_rules(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


# --- Properties -------------------------------------------------------------------------------

EDGES = [timedelta(0), RISE_EDGE, RV1_EDGE, YEAR_EDGE]
ages = st.one_of(
    st.sampled_from([e + d for e in EDGES for d in (-US, timedelta(0), US)]),
    st.integers(-2 * 24 * 3600, 400 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(-3600, 3 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
)
values = st.one_of(
    st.integers(20, 1500).map(float),
    st.integers(200, 15000).map(lambda k: k / 10),
    st.integers(2000, 150000).map(lambda k: k / 100),
    st.floats(20, 1500),
)
histories = st.lists(st.tuples(ages, values), max_size=8)


def _reference(c1: float, history: History) -> tuple[bool, int | None]:
    """SPEC §4.1 with the §0.6 windows, in the multiplication form, in decimal: (baseline, stage)."""
    with localcontext() as ctx:
        ctx.prec = 60
        c = Decimal(repr(c1))
        earlier = [(age, Decimal(repr(v))) for age, v in history if age > timedelta(0)]
        if not any(age <= YEAR_EDGE for age, _ in earlier):
            return False, None
        refs = []
        rv1 = [v for age, v in earlier if age <= RV1_EDGE]
        if rv1:
            refs.append(min(rv1))
        rv2 = sorted(v for age, v in earlier if RV1_EDGE < age <= YEAR_EDGE)
        if rv2:
            n = len(rv2)
            refs.append(rv2[n // 2] if n % 2 else (rv2[n // 2 - 1] + rv2[n // 2]) / 2)

        def reaches(k: str) -> bool:
            return any(c >= Decimal(k) * rv for rv in refs)

        if reaches("1.5"):
            if reaches("3") or c > 354:
                return True, 3
            return True, 2 if reaches("2") else 1
        recent = [v for age, v in earlier if age <= RISE_EDGE]
        return True, 1 if recent and c - min(recent) > 26 else None


@settings(max_examples=500)
@given(c1=values, history=histories)
@example(c1=75.3, history=[(THREE_DAYS, 50.2)])
@example(c1=86.4, history=[(DAY, 60.4)])
@example(c1=100.3, history=[(MONTH, 50.1), (2 * MONTH, 50.2)])
def test_matches_the_spec_reference(c1, history):
    result = run(c1, history)
    assert (result.baseline, result.stage) == _reference(c1, history), result.reason


def _rank(stage: int | None) -> int:
    return 0 if stage is None else stage


@settings(max_examples=300)
@given(a=values, b=values, history=histories)
def test_stage_never_falls_as_creatinine_rises(a, b, history):
    low, high = sorted((a, b))
    assert _rank(run(low, history).stage) <= _rank(run(high, history).stage)


@settings(max_examples=300)
@given(c1=values, history=histories)
def test_stage_is_none_or_1_to_3_and_none_without_baseline(c1, history):
    result = run(c1, history)
    assert result.stage in (None, 1, 2, 3)
    if not result.baseline:
        assert (result.stage, result.ratio) == (None, None)
    else:
        assert result.ratio is not None
        assert result.ratio > 0


@settings(max_examples=200)
@given(c1=values, history=histories, later=histories, data=st.data())
def test_order_and_later_results_do_not_matter(c1, history, later, data):
    # Results at or after the current one: ages ≤ 0.
    noise = [(-abs(age), v) for age, v in later]
    shuffled = data.draw(st.permutations([*history, *noise]))
    assert run(c1, shuffled) == run(c1, history)


@settings(max_examples=300)
@given(
    c1=st.integers(20, 1000),
    history=st.lists(st.tuples(ages, st.integers(20, 1000)), min_size=1, max_size=8),
    factor=st.integers(10, 400).map(lambda k: Decimal(k) / 100),
)
def test_ratio_rule_is_scale_invariant(c1, history, factor):
    """Scaling every value leaves RatioRV, and the stage it alone decides, unchanged.

    The 354 µmol/L and 26 µmol/L rules are absolute, so they are excluded: the stage is compared
    only where the ratio decides it (ratio ≥ 1.5 and C1 ≤ 354 before and after scaling; or ratio
    < 1.5 with no result in the 48 h window).
    """

    def scale(v: int) -> float:
        return float(Decimal(v) * factor)  # a short decimal: exact as the algorithm reads it

    plain = run(float(c1), [(age, float(v)) for age, v in history])
    scaled = run(scale(c1), [(age, scale(v)) for age, v in history])
    assert plain.baseline == scaled.baseline
    assert plain.ratio == scaled.ratio
    if plain.ratio is None:
        return
    if plain.ratio >= Fraction(3, 2):
        if max(c1, scale(c1)) <= 354:
            assert plain.stage == scaled.stage
    elif not any(timedelta(0) < age <= RISE_EDGE for age, _ in history):
        assert plain.stage is scaled.stage is None
