"""Who the simulated patients are: equity fields with published proportions, frailty, chronic
abnormalities that alert without deteriorating, a quiet decline, and the inequities a run can
be told to build in."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
import numpy as np
import pytest

from scoring import ChartSet, Context, score
from simulators import (
    ETHNIC_GROUP,
    SCENARIOS,
    Baseline,
    SimConfig,
    consciousness,
    draw_frailty,
    draw_person,
    frailty_mean,
    spo2_overread,
    vitals_at,
)
from tests.factories import make_obs
from tests.sim_helpers import patients, run

# England, Census 2021 (ONS), percentages of the population by ethnic group, with NHS
# grouping: Chinese (R) is "Other", so Asian is 9.6 - 0.7 and Other 2.2 + 0.7.
CENSUS = {"White": 81.0, "Asian": 8.9, "Black": 4.2, "Mixed": 3.0, "Other": 2.9}


@pytest.fixture(scope="module")
def people() -> list[Any]:
    rng = np.random.default_rng(7)
    return [draw_person(rng, "adult", frailty=0.3) for _ in range(20_000)]


def test_ethnicity_follows_the_census_with_a_not_stated_share(people: list[Any]) -> None:
    codes = Counter(p.ethnicity for p in people)
    missing = (codes["Z"] + codes["99"]) / len(people)
    assert 0.05 <= missing <= 0.10  # hospital records: about 5-10 % not stated or not known
    stated = [p.ethnic_group for p in people if p.ethnic_group is not None]
    groups = Counter(stated)
    for group, percent in CENSUS.items():
        share = 100 * groups[group] / len(stated)
        assert abs(share - percent) < max(0.6, percent * 0.1), (group, share)
    assert set(codes) <= set(ETHNIC_GROUP) | {"Z", "99"}


def test_sex_is_half_and_half_on_adult_wards_and_women_on_maternity(people: list[Any]) -> None:
    sexes = Counter(p.sex for p in people)
    assert 0.48 <= sexes["2"] / len(people) <= 0.52
    assert 0.48 <= sexes["1"] / len(people) <= 0.52
    rng = np.random.default_rng(3)
    assert {draw_person(rng, "maternity").sex for _ in range(200)} == {"2"}


def test_emergency_admissions_come_more_from_deprived_areas(people: list[Any]) -> None:
    deciles = Counter(p.imd_decile for p in people)
    assert set(deciles) == set(range(1, 11))
    most, least = deciles[1] + deciles[2], deciles[9] + deciles[10]
    assert 1.6 <= most / least <= 2.4  # about twice the rate in the most deprived fifth


def test_frailty_rises_with_age_and_chronic_conditions_gather_in_the_frail() -> None:
    assert frailty_mean(45) < frailty_mean(70) < frailty_mean(90)
    rng = np.random.default_rng(1)
    young = [draw_frailty(rng, 40) for _ in range(2000)]
    old = [draw_frailty(rng, 88) for _ in range(2000)]
    assert all(0 <= f <= 1 for f in young + old)
    assert np.mean(old) > np.mean(young) + 0.3
    fit = [draw_person(rng, "adult", frailty=0.05) for _ in range(3000)]
    frail = [draw_person(rng, "adult", frailty=0.7) for _ in range(3000)]
    assert sum(len(p.chronic) for p in frail) > 1.8 * sum(len(p.chronic) for p in fit)
    copd = [draw_person(rng, "adult", frailty=0.7, copd=True) for _ in range(300)]
    assert all(p.chronic == () for p in copd)  # Scale 2 COPD is a scenario of its own


@pytest.mark.parametrize(
    ("true", "group", "read"),
    [
        (97.0, "White", 97.0),
        (88.0, "White", 88.0),
        (97.0, None, 97.0),  # not stated: no group, no bias
        (97.0, "Black", 98.5),  # bias 1.5 above 96
        (96.0, "Black", 97.5),
        (90.0, "Black", 90.0 + 1.5 + 0.35 * 6),  # more in hypoxaemia
        (80.0, "Black", 85.0),  # capped at 5
        (99.5, "Black", 100.0),  # never above 100
        (92.0, "Asian", 92.0 + 1.0 + 0.25 * 4),
        (92.0, "Mixed", 92.0),
    ],
)
def test_spo2_overread_by_group(true: float, group: str | None, read: float) -> None:
    got = spo2_overread(np.array([true]), group)
    assert got[0] == pytest.approx(read)


def test_the_occult_decline_shows_as_a_trend_inside_the_bands(charts: ChartSet) -> None:
    """Hours before the quiet decline reaches its ICU severity (at 0.6 of the way, where the
    logistic rise still has hours to go), a typical patient scores NEWS2 2 or less, yet
    breathes at least 4/min faster and saturates at least 2.5 % lower than at rest: the trend
    a learned model can see and the chart total cannot."""
    spec = SCENARIOS["occult-decline"]
    assert not spec.overt
    baseline = Baseline(16, 74, 128, 75, 97, 36.8, {})
    zero = {k: np.zeros(1) for k in ("heart_rate", "resp_rate", "systolic_bp", "spo2")}
    s = 0.6
    v = vitals_at(
        baseline,
        spec.effects,
        s=np.array([s]),
        day=np.zeros(1),
        slow={**zero, "temperature": np.zeros(1)},
        boost=np.zeros(1),
    )
    vitals: dict[str, Any] = {k: round(float(x[0]), 1) for k, x in v.items()}
    vitals |= {"consciousness": consciousness(spec.effects, s, acvpu=True), "on_oxygen": False}
    result = score(make_obs(vitals), Context(cohort="adult"), charts)
    assert s < 0.6 * spec.icu_at + 0.05
    assert result.total <= 2, (vitals, result.total)
    assert vitals["resp_rate"] - 16 >= 4
    assert 97 - vitals["spo2"] >= 2.5


def test_chronically_abnormal_stable_adults_alert_often_and_do_not_deteriorate(
    charts: ChartSet,
) -> None:
    found = patients(
        run(charts, wards=1, beds=60, hours=72, seed=31, scenario="stable", mode="manual"), charts
    )

    def alerting(group: list[Any]) -> float:
        sets = [r for p in group for _, r in p.manual]
        return float(sum(r.total >= 5 for r in sets) / len(sets))

    chronic = [p for p in found.values() if len(p.chronic) >= 2]
    well = [p for p in found.values() if not p.chronic]
    assert chronic
    assert well
    assert alerting(chronic) >= 0.15
    assert alerting(chronic) >= 5 * alerting(well)
    assert not any(p.outcomes for p in found.values())  # stable: they never deteriorate


def test_adt_carries_the_equity_fields_and_the_truth_the_hidden_traits(charts: ChartSet) -> None:
    found = patients(run(charts, wards=4, beds=8, hours=24, seed=2, mode="manual"), charts)
    for patient in found.values():
        context = patient.context
        assert context.sex in ("1", "2", "X")
        assert context.ethnicity in set(ETHNIC_GROUP) | {"Z", "99"}
        assert context.imd_decile is not None
        assert 1 <= context.imd_decile <= 10
        if context.cohort == "maternity":
            assert context.sex == "2"
        if context.cohort == "adult":
            assert 0 <= patient.frailty <= 1
        else:
            assert patient.frailty == 0
            assert patient.chronic == ()


def _first_spo2(messages: list[Any]) -> dict[str, int]:
    first: dict[str, int] = {}
    for m in messages:
        if m.topic.endswith("/obs"):
            body = msgspec.json.decode(m.payload)
            if "spo2" in body["vitals"]:
                first.setdefault(body["patient_id"], body["vitals"]["spo2"])
    return first


def test_spo2_overread_raises_only_black_and_asian_patients_readings(charts: ChartSet) -> None:
    options: dict[str, Any] = {
        "wards": 2,
        "beds": 30,
        "hours": 12,
        "seed": 8,
        "mode": "manual",
        "ward_kinds": ("medical",),
    }
    fair, biased = run(charts, **options), run(charts, **options, inequity=("spo2-overread",))
    assert fair == run(charts, **options, inequity=())  # none by default
    found = patients(fair, charts)
    before, after = _first_spo2(fair), _first_spo2(biased)
    raised: dict[str, list[int]] = {"over": [], "same": []}
    for pid, value in before.items():
        if not pid.endswith("000"):  # a bed's later patients arrive when the first leaves
            continue
        group = ETHNIC_GROUP.get(found[pid].context.ethnicity or "")
        key = "over" if group in ("Black", "Asian") else "same"
        raised[key].append(after[pid] - value)
    assert raised["over"]
    assert all(d == 0 for d in raised["same"])
    assert all(d >= 0 for d in raised["over"])
    assert np.mean(raised["over"]) >= 0.7
    # who the patients are does not change with the inequity
    other = patients(biased, charts)
    for pid in found.keys() & other.keys():
        mine, theirs = found[pid].context, other[pid].context
        assert (mine.sex, mine.ethnicity, mine.imd_decile) == (
            theirs.sex,
            theirs.ethnicity,
            theirs.imd_decile,
        )


def test_night_escalation_leads_to_more_outcomes(charts: ChartSet) -> None:
    options: dict[str, Any] = {
        "wards": 6,
        "beds": 30,
        "hours": 96,
        "seed": 17,
        "mode": "manual",
        "ward_kinds": ("medical", "surgical"),
        "events": False,
    }

    def outcomes(messages: list[Any]) -> int:
        return sum(
            1
            for m in messages
            if m.topic == "simulation/truth"
            and msgspec.json.decode(m.payload).get("event") in ("icu-transfer", "cardiac-arrest")
        )

    fair = outcomes(run(charts, **options))
    slow = outcomes(run(charts, **options, inequity=("night-escalation",)))
    assert slow > fair


def test_unknown_inequity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown inequity 'skin'"):
        SimConfig(inequity=("skin",))
