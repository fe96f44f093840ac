"""Bad input is refused with every reason; incomplete sets are reported as incomplete."""

from __future__ import annotations

import msgspec
import pytest

from scoring import InvalidObservation, ScoreRequest, score, score_batch
from tests.factories import NEWS2_NORMAL, PEWS_NORMAL_5_12Y, make_ctx, make_obs

ADULT = make_ctx(cohort="adult")
CHILD = make_ctx(chart="pews-nhse-2023-5-12y")


@pytest.mark.parametrize(
    ("vitals", "ctx", "code", "text"),
    [
        ({"heart_rate": 0}, ADULT, "implausible", "0 means not measured"),
        ({"heart_rate": 301}, ADULT, "implausible", "heart_rate 301 is implausible"),
        ({"spo2": 100.5}, ADULT, "implausible", "spo2 100.5"),
        ({"resp_rate": 71}, ADULT, "implausible", "resp_rate 71"),
        ({"resp_rate": 121}, CHILD, "implausible", "resp_rate 121"),
        ({"temperature": 50}, ADULT, "implausible", "temperature 50"),
        ({"systolic_bp": 400}, ADULT, "implausible", "systolic_bp 400"),
        (
            {"systolic_bp": 80, "diastolic_bp": 80},
            ADULT,
            "implausible",
            "diastolic_bp 80 is not below systolic_bp 80",
        ),
        ({"oxygen_flow_lpm": 2, "oxygen_percent": 28}, CHILD, "contradictory", "not both"),
        ({"on_oxygen": False, "oxygen_device": "NP"}, ADULT, "contradictory", "on_oxygen is false"),
        (
            {"oxygen_device": "air", "oxygen_flow_lpm": 2},
            ADULT,
            "contradictory",
            "oxygen_device is air",
        ),
        ({"bp_code": "U4", "systolic_bp": 90}, CHILD, "contradictory", "bp_code"),
        ({"consciousness": "C"}, CHILD, "not-on-chart", "'C' is not on chart pews-nhse-2023-5-12y"),
        (
            {"consciousness": "C"},
            make_ctx(chart="mews-subbe-2001"),
            "not-on-chart",
            "it takes A, P, U, V",
        ),
        ({"concern": "high"}, make_ctx(cohort="maternity"), "not-on-chart", "concern 'high'"),
        # Issue 12: SpO2 sent as a fraction (0.97 for 97 %) scored 3; it is not a percentage.
        ({"spo2": 0.97}, ADULT, "implausible", "0.97 looks like a fraction, 97 %"),
        ({"spo2": 1}, ADULT, "implausible", "1 looks like a fraction, 100 %"),
        ({"spo2": 0.57}, CHILD, "implausible", "0.57 looks like a fraction, 57 %"),
        ({"spo2": 0.9}, make_ctx(cohort="maternity"), "implausible", "spo2 0.9 is implausible"),
        ({"spo2": 9.99}, ADULT, "implausible", "spo2 9.99 is implausible: it must be ≥ 10"),
        ({"spo2": 0}, ADULT, "implausible", "0 means not measured"),
    ],
)
def test_refused_never_scored(charts, vitals, ctx, code, text):
    with pytest.raises(InvalidObservation) as info:
        score(make_obs(vitals), ctx, charts)
    assert info.value.code == code
    assert text in str(info.value)
    [refused] = score_batch([(make_obs(vitals), ctx)], charts)  # the column path refuses too
    assert isinstance(refused, InvalidObservation)
    assert str(refused) == str(info.value)


@pytest.mark.parametrize(
    ("spo2", "points"), [(10, 3), (50, 3), (91, 3), (96, 0), (100, 0)], ids=lambda v: f"{v}"
)
def test_spo2_from_the_floor_up_is_scored(charts, spo2, points):
    # 10 % is far below what an oximeter is specified for (70–100 %): a true low reading scores.
    result = score(make_obs({"spo2": spo2}), ADULT, charts)
    assert result.parameters["spo2"] == points


@pytest.mark.parametrize(
    ("vitals", "ctx", "ignored"),
    [
        (NEWS2_NORMAL, ADULT, []),
        (NEWS2_NORMAL | {"diastolic_bp": 70}, ADULT, []),  # checked with SBP, drawn, not scored
        (NEWS2_NORMAL | {"suspected_infection": True}, ADULT, []),  # read by think-sepsis
        (
            NEWS2_NORMAL | {"resp_distress": "severe", "crt_seconds": 4, "carer_question": "W"},
            ADULT,
            ["carer_question", "crt_seconds", "resp_distress"],
        ),
        (NEWS2_NORMAL | {"concern": True}, ADULT, ["concern"]),
        (NEWS2_NORMAL | {"concern": "high"}, ADULT, ["concern"]),
        ({"heart_rate": 80, "bp_code": "U4"}, ADULT, ["bp_code"]),
        ({"heart_rate": 80, "oxygen_device": "NP", "oxygen_flow_lpm": 2}, ADULT, []),
        (
            {"heart_rate": 80, "spo2": 95, "on_oxygen": True},
            make_ctx(chart="mews-subbe-2001"),
            ["on_oxygen", "spo2"],
        ),
        ({"heart_rate": 80, "concern": True}, make_ctx(cohort="maternity"), []),
        (
            {"heart_rate": 80, "resp_distress": "mild"},
            make_ctx(cohort="maternity"),
            ["resp_distress"],
        ),
        (PEWS_NORMAL_5_12Y, CHILD, []),
        (PEWS_NORMAL_5_12Y | {"suspected_infection": True}, CHILD, ["suspected_infection"]),
    ],
    ids=[
        "news2 set",
        "news2 diastolic",
        "news2 infection",
        "news2 pews items",
        "news2 concern",
        "news2 pews concern",
        "news2 bp_code",
        "news2 oxygen device",
        "subbe spo2 and oxygen",
        "meows concern",
        "meows distress",
        "pews set",
        "pews infection",
    ],
)
def test_what_the_chart_does_not_read_is_listed_as_ignored(charts, vitals, ctx, ignored):
    result = score(make_obs(vitals), ctx, charts)
    assert result.ignored == ignored
    assert not set(ignored) & set(result.parameters)  # never part of the score
    [batch] = score_batch([(make_obs(vitals), ctx)], charts)
    assert batch == result
    assert msgspec.json.decode(msgspec.json.encode(result))["ignored"] == ignored


def test_ignored_items_change_nothing_else(charts):
    plain = score(make_obs(NEWS2_NORMAL), ADULT, charts)
    extra = score(make_obs(NEWS2_NORMAL | {"resp_distress": "severe"}), ADULT, charts)
    assert msgspec.structs.replace(extra, ignored=[], vitals=plain.vitals) == plain


def test_every_reason_is_listed_at_once(charts):
    with pytest.raises(InvalidObservation) as info:
        score(make_obs({"heart_rate": 0, "spo2": 101, "temperature": 5}), ADULT, charts)
    assert [p.key for p in info.value.problems] == ["heart_rate", "temperature", "spo2"]


def test_not_recorded_must_name_a_vital_and_not_contradict(charts):
    with pytest.raises(InvalidObservation, match="'pulse', which is not a vital sign"):
        score(make_obs({}, not_recorded={"pulse": "asleep"}), ADULT, charts)
    with pytest.raises(InvalidObservation, match="also named in not_recorded"):
        score(make_obs({"heart_rate": 80}, not_recorded={"heart_rate": "refused"}), ADULT, charts)


@pytest.mark.parametrize(
    "line",
    [
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{"heartrate":80},"context":{}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{"heart_rate":"80"},"context":{}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{"heart_rate":true},"context":{}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00","vitals":{},"context":{}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{"heart_rate":NaN},"context":{}}',
        b'{"msg_id":"","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{},"context":{}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{},"context":{"spo2scale":2}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{},"context":{"spo2_scale":3}}',
        b'{"msg_id":"m","patient_id":"P","time":"2026-11-22T09:30:00Z","vitals":{"consciousness":"confused"},"context":{}}',
        b"\xff\xfe",
    ],
    ids=[
        "typo-key",
        "string-number",
        "bool-number",
        "naive-time",
        "nan",
        "empty-id",
        "context-typo",
        "bad-scale",
        "bad-acvpu",
        "not-utf8",
    ],
)
def test_malformed_json_is_refused_by_the_decoder(line):
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(line, type=ScoreRequest)


def test_incomplete_set_names_what_is_missing_and_scores_the_rest(charts):
    result = score(make_obs({"resp_rate": 26, "heart_rate": 95}), ADULT, charts)
    assert result.complete is False
    assert result.missing == [
        "spo2",
        "air_or_oxygen",
        "systolic_bp",
        "consciousness",
        "temperature",
    ]
    assert result.parameters == {"resp_rate": 3, "heart_rate": 1}
    # A red score in an incomplete set still raises its trigger (SPEC §0.4).
    assert (result.risk, result.single_parameter_triggers, result.triggers) == (
        "low-medium",
        ["resp_rate"],
        ["single-parameter"],
    )


def test_not_recorded_is_missing_and_reported(charts):
    vitals = {k: v for k, v in NEWS2_NORMAL.items() if k != "temperature"}
    result = score(make_obs(vitals, not_recorded={"temperature": "refused"}), ADULT, charts)
    assert (result.complete, result.missing, result.not_recorded) == (
        False,
        ["temperature"],
        {"temperature": "refused"},
    )


@pytest.mark.parametrize(
    ("vitals", "spo2"),
    [
        ({"spo2": 95}, None),  # Scale 2 ≥93: on air 0, on oxygen 2 — undetermined without on_oxygen
        ({"spo2": 90}, 0),  # 88–92 scores 0 either way
        ({"spo2": 84}, 2),  # low saturations score the same on air or oxygen
    ],
)
def test_scale2_spo2_without_oxygen_status_is_scored_only_when_determined(charts, vitals, spo2):
    result = score(make_obs(vitals), make_ctx(cohort="adult", spo2_scale=2), charts)
    assert result.parameters.get("spo2") == spo2
    assert ("spo2" in result.missing) == (spo2 is None)
    assert result.spo2_scale == 2


@pytest.mark.parametrize(
    ("oxygen", "points"),
    [
        ({"oxygen_flow_lpm": 3}, None),  # no device: could be high flow (4)
        ({"oxygen_flow_lpm": 6}, 4),  # the level alone reaches the maximum
        ({"oxygen_device": "NP"}, None),  # device without a level
        ({"oxygen_device": "HF"}, 4),
        ({"oxygen_device": "HF", "oxygen_flow_lpm": 1}, 4),  # HF overrides the level
        ({"oxygen_device": "NP", "oxygen_flow_lpm": 3}, 2),
        ({"oxygen_device": "V", "oxygen_percent": 35}, 2),
        ({"on_oxygen": False}, 0),
        ({"oxygen_device": "air"}, 0),
        ({}, None),
    ],
)
def test_pews_oxygen_is_scored_only_when_its_inputs_determine_it(charts, oxygen, points):
    vitals = {k: v for k, v in PEWS_NORMAL_5_12Y.items() if k != "on_oxygen"} | oxygen
    result = score(make_obs(vitals), CHILD, charts)
    assert result.parameters.get("oxygen") == points
    assert ("oxygen" in result.missing) == (points is None)


@pytest.mark.parametrize(
    ("vitals", "ctx", "query"),
    [
        ({"temperature": 24.9}, ADULT, "temperature 24.9 is outside ≥ 25 and ≤ 45"),
        ({"temperature": 45.1}, ADULT, "temperature 45.1"),
        ({"resp_rate": 80}, make_ctx(chart="pews-nhse-2023-0-11m"), "resp_rate 80"),
    ],
)
def test_unusual_values_are_scored_and_queried(charts, vitals, ctx, query):
    result = score(make_obs(vitals), ctx, charts)
    assert any(query in q for q in result.queries)
    assert result.parameters  # scored, not refused


def test_pews_trigger_and_prompt_are_reported(charts):
    vitals = PEWS_NORMAL_5_12Y | {"consciousness": "V", "temperature": 38.2}
    result = score(make_obs(vitals), CHILD, charts)
    assert (result.total, result.risk, result.triggers, result.prompts) == (
        0,
        "high",
        ["consciousness=V"],
        ["think-sepsis"],
    )
