"""The learned risk (surveillance.risk): whom it covers, how often it estimates, delayed labels
(never learned from the future), what it learns, and its file (versioned, checked, atomic, a
restart loses nothing)."""

from __future__ import annotations

import gzip
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ChartSet, Context, ScoreResult, load_charts, score
from surveillance.risk import (
    DEFAULT_MODEL,
    FEATURES,
    Hyper,
    LearnedRisk,
    ModelError,
    Risk,
    RiverRisk,
    load,
    load_model,
)
from tests.factories import NEWS2_NORMAL, make_ctx, make_obs

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADULT = make_ctx(cohort="adult", birth_date="1950-01-01")
SICK: dict[str, Any] = {"resp_rate": 26, "heart_rate": 125, "spo2": 92, "systolic_bp": 95}
CHARTS = load_charts()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def result(
    hours: float,
    patient: str = "P1",
    context: Context = ADULT,
    charts: ChartSet = CHARTS,
    source: str = "manual",
    **vitals: Any,
) -> ScoreResult:
    obs = make_obs(
        NEWS2_NORMAL | vitals,
        time=at(hours).isoformat(),
        msg_id=f"{patient}-{hours}",
        patient_id=patient,
        source=source,
    )
    return score(obs, context, charts)


class Recorder(RiverRisk):
    """Records each label learned, with what was known when it was learned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels: list[tuple[dict[str, float], bool]] = []

    def _learn(self, x: dict[str, float], positive: bool) -> None:
        self.labels.append((dict(x), positive))
        super()._learn(x, positive)


def test_it_is_a_risk_and_estimates_adults_with_reasons() -> None:
    model: Risk = RiverRisk()
    risk = model.estimate(result(0, **SICK), ADULT, "manual")
    assert isinstance(risk, LearnedRisk)
    assert 0.0 < risk.probability < 1.0
    assert risk.horizon_hours == 24.0
    assert risk.shadow is True
    assert risk.model == "news2-trends-logistic 1"
    assert len(risk.reasons) <= 3


def test_other_cohorts_get_no_estimate() -> None:
    model = RiverRisk()
    child = make_ctx(cohort="child", birth_date="2020-01-01")
    pews = score(
        make_obs({"resp_rate": 30, "heart_rate": 120}, time=at(0).isoformat()), child, CHARTS
    )
    assert model.estimate(pews, child, "manual") is None
    maternity = make_ctx(cohort="maternity", birth_date="1995-01-01")
    assert model.estimate(result(0, context=maternity), maternity, "manual") is None
    assert model.estimate(result(0), ADULT, "manual") is not None


def test_devices_are_estimated_at_most_every_interval_and_nurses_always() -> None:
    model = RiverRisk(Hyper(estimate_interval=300))
    minutes = [m / 60 for m in range(11)]
    got = [model.estimate(result(h, source="wearable"), ADULT, "wearable") for h in minutes]
    assert [g is not None for g in got] == [m % 5 == 0 for m in range(11)]
    assert model.estimate(result(11 / 60), ADULT, "manual") is not None


def test_labels_wait_for_the_outcome_or_the_horizon() -> None:
    model = Recorder()
    for h in (0, 2, 4, 30):
        model.estimate(result(h), ADULT, "manual")
    assert model.labels == []
    assert model.mature(at(23.9)) == 0
    assert model.mature(at(24)) == 1  # the set at 0 h: its 24 h passed without an outcome
    assert [y for _, y in model.labels] == [False]
    # ICU at 27 h: the sets at 4 h (23 h before) and 2 h (25 h before: a negative) are
    # labelled now; the set at 30 h came after it and is dropped.
    model.outcome("P1", at(27))
    assert sorted(y for _, y in model.labels) == [False, False, True]
    # After the outcome nothing of theirs is learned from.
    model.estimate(result(31), ADULT, "manual")
    assert model.mature(at(100)) == 0
    assert len(model.labels) == 3


def test_device_snapshots_are_learned_from_at_most_hourly() -> None:
    model = Recorder(Hyper(estimate_interval=300, learn_interval=3600))
    for m in range(0, 120, 5):
        model.estimate(result(m / 60, source="wearable"), ADULT, "wearable")
    model.mature(at(100))
    assert len(model.labels) == 2  # at 0 and 60 min


def test_a_patient_who_left_still_gets_their_labels() -> None:
    model = Recorder()
    model.estimate(result(0, **SICK), ADULT, "manual")
    model.leave("P1", at(1))
    assert "P1" not in model.patients
    model.outcome("P1", at(3))  # recorded after the discharge
    assert [y for _, y in model.labels] == [True]


events = st.lists(
    st.tuples(
        st.sampled_from(["estimate", "outcome", "mature"]),
        st.sampled_from(["P1", "P2", "P3"]),
        st.floats(0, 3, allow_nan=False),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(steps=events)
def test_no_label_is_learned_before_it_could_be_known(
    steps: list[tuple[str, str, float]],
) -> None:
    """Whatever the order of estimates, outcomes and maturing, a prediction is learned only
    when its patient's outcome has started (positive if within the horizon before it) or its
    horizon has passed (negative), and never when it was made after the outcome."""
    model = RiverRisk(Hyper(horizon_hours=5))
    clock = 0.0
    made: list[tuple[str, float]] = []  # (patient, hours) of each pending prediction
    onset: dict[str, float] = {}
    learned: list[tuple[str, float, bool, float]] = []  # patient, made at, label, learned at
    which: list[int] = []
    original = model._learn

    def spy(x: dict[str, float], positive: bool) -> None:
        patient, when = made[index[id(x)]]
        which.append(index[id(x)])
        learned.append((patient, when, positive, clock))
        original(x, positive)

    index: dict[int, int] = {}
    model._learn = spy  # type: ignore[method-assign]
    for kind, patient, step in steps:
        clock += step
        if kind == "estimate":
            before = len(model.pending)
            model.estimate(result(clock, patient), ADULT, "manual")
            if len(model.pending) > before:
                made.append((patient, clock))
                index[id(model.pending[-1].x)] = len(made) - 1
        elif kind == "outcome" and patient not in onset:
            onset[patient] = clock
            model.outcome(patient, at(clock))
        else:
            model.mature(at(clock))
    for patient, when, positive, known in learned:
        start = onset.get(patient)
        assert start is None or when < start  # nothing made after the outcome
        if positive:
            assert start is not None
            assert start - 5 <= when < start <= known
        else:
            assert when + 5 <= known or (start is not None and when < start - 5 and start <= known)
    assert len(set(which)) == len(which)  # each once


def test_it_learns_that_a_high_respiratory_rate_comes_before_the_outcome() -> None:
    model = RiverRisk(Hyper(lr=0.05))
    for n in range(400):
        patient = f"P{n}"
        sick = n % 4 == 0
        for h in (0, 4, 8):
            vitals: dict[str, Any] = {"resp_rate": 27, "heart_rate": 118} if sick and h else {}
            model.estimate(result(100 * n + h, patient, **vitals), ADULT, "manual")
        if sick:
            model.outcome(patient, at(100 * n + 10))
        model.mature(at(100 * n + 50))
    well = model.estimate(result(100_000, "A"), ADULT, "manual")
    ill = model.estimate(result(100_000, "B", resp_rate=27, heart_rate=118), ADULT, "manual")
    assert well is not None
    assert ill is not None
    assert ill.probability > 2 * well.probability
    assert ill.probability > 0.3
    assert well.probability < 0.2
    assert any("respiratory rate" in r or "heart rate" in r for r in ill.reasons)


def _trained() -> RiverRisk:
    model = RiverRisk(trained_on={"seeds": [1, 2]})
    for n in range(30):
        for h in (0, 3, 6):
            vitals = SICK if n % 3 == 0 and h else {}
            model.estimate(result(50 * n + h, f"P{n}", **vitals), ADULT, "manual")
        if n % 3 == 0:
            model.outcome(f"P{n}", at(50 * n + 8))
        model.mature(at(50 * n + 40))
    model.estimate(result(2000, "Q", **SICK), ADULT, "manual")  # left pending
    model.estimate(result(1999, "R", source="wearable", **SICK), ADULT, "wearable")
    return model


def test_a_saved_model_carries_on_exactly_where_it_was(tmp_path: Path) -> None:
    model = _trained()
    path = tmp_path / "model.json.gz"
    model.save(path)
    again = load_model(path)
    assert again.describe()["learned"] == model.describe()["learned"]
    assert again.trained_on == {"seeds": [1, 2]}
    assert len(again.pending) == len(model.pending) == 2
    assert again.explain(again.pending[0].x) == model.explain(model.pending[0].x)
    # A model read from its file learns on at the online rate; a running service that is
    # restarted reads it again: the same future then gives the same estimates, labels and file.
    model = load_model(path)
    assert again.model.optimizer.learning_rate == again.hyper.online_lr < again.hyper.lr
    for m in (model, again):
        m.estimate(result(2003, "Q", **SICK), ADULT, "manual")
        m.outcome("Q", at(2005))
        m.mature(at(2100))
    a = model.estimate(result(2200, "R", source="wearable"), ADULT, "wearable")
    b = again.estimate(result(2200, "R", source="wearable"), ADULT, "wearable")
    assert a == b
    model.save(tmp_path / "a.json.gz")
    again.save(tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def _rewrite(path: Path, change: dict[str, Any], body: bytes | None = None) -> None:
    with gzip.open(path, "rb") as f:
        header, state = f.read().split(b"\n", 2)[:2]
    head = msgspec.json.decode(header) | change
    path.write_bytes(gzip.compress(msgspec.json.encode(head) + b"\n" + (body or state) + b"\n"))


@pytest.mark.parametrize(
    ("change", "body", "words"),
    [
        ({"river": "0.21.0"}, None, "made with river 0.21.0, this installation has river 0.26.1"),
        ({"features": ["rr", "hr"]}, None, "made for other features"),
        ({"model": "gradient-boosting"}, None, "holds model 'gradient-boosting'"),
        ({"format_version": 99}, None, "version 99"),
        ({}, b'{"hyper": {}}', "damaged"),
    ],
)
def test_a_model_file_that_does_not_fit_is_refused_with_the_reason(
    tmp_path: Path, change: dict[str, Any], body: bytes | None, words: str
) -> None:
    path = tmp_path / "model.json.gz"
    _trained().save(path)
    _rewrite(path, change, body)
    with pytest.raises(ModelError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def test_unreadable_files_are_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load(tmp_path / "none.json.gz")
    (tmp_path / "plain").write_text("not gzip")
    with pytest.raises(ModelError, match="cannot read"):
        load(tmp_path / "plain")
    (tmp_path / "junk.gz").write_bytes(gzip.compress(b"[1, 2]\n"))
    with pytest.raises(ModelError, match="not a ward-surveillance-risk file"):
        load(tmp_path / "junk.gz")


def test_a_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json.gz"
    model = _trained()
    model.save(path)
    before = path.read_bytes()

    def boom(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json.gz"]


def test_the_shipped_model_loads_and_describes_itself() -> None:
    assert DEFAULT_MODEL.exists()
    model = load()
    about = model.describe()
    assert about["features"] == list(FEATURES)
    assert about["river"] == "0.26.1"
    assert about["trained_on"]["adult_events"] > 0
    assert about["learned"]["positives"] > 0
    assert about["patients"] == 0  # shipped without the training patients
    assert about["pending"] == 0
    frozen = load_model(None, learn=False)
    frozen.estimate(result(0), ADULT, "manual")
    assert frozen.pending == type(frozen.pending)()


def test_a_probability_is_a_probability_whatever_the_vitals() -> None:
    model = load()
    for vitals in (SICK, {}, {"resp_rate": 45, "spo2": 70, "systolic_bp": 60, "heart_rate": 180}):
        risk = model.estimate(result(0, **vitals), ADULT, "manual")
        assert risk is not None
        assert 0.0 <= risk.probability <= 1.0
        assert math.isfinite(risk.probability)
