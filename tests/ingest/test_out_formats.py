"""Scores and alert events out to the record: the FHIR R4 Observation (validated with the
`fhir.resources` R4B models, wire-compatible with R4 for Observation), the HL7 v2.5 ORU^R01 and
the IHE PCD-04 ORU^R40 (read back with python-hl7 and with our own ingest reader)."""

from __future__ import annotations

from typing import Any

import hl7  # type: ignore[import-untyped]
import pytest
from fhir.resources.R4B.observation import Observation as FhirObservation
from hypothesis import given
from hypothesis import strategies as st

from ingest import (
    NHS_NUMBER_SYSTEM,
    Hl7Parties,
    Rejected,
    acm_priority,
    alert_r40,
    is_nhs_number,
    parse,
    score_observation,
    score_oru,
    score_resource_id,
    send_flag,
)

NEWS2: dict[str, Any] = {
    "patient_id": "P001",
    "ward": "7A",
    "bed": "12",
    "time": "2026-11-22T09:30:00Z",
    "obs_msg_id": "obs-7f3a",
    "system": "NEWS2",
    "chart": "news2",
    "total": 6,
    "parameters": {
        "resp_rate": 2,
        "spo2": 1,
        "air_or_oxygen": 0,
        "systolic_bp": 1,
        "heart_rate": 1,
        "consciousness": 0,
        "temperature": 1,
    },
    "risk": "medium",
    "complete": True,
    "missing": [],
    "spo2_scale": 1,
}
PEWS: dict[str, Any] = {
    **NEWS2,
    "system": "PEWS",
    "chart": "pews-nhse-2023-1-4y",
    "total": 5,
    "parameters": {
        "resp_rate": 1,
        "resp_distress": 1,
        "spo2": 1,
        "heart_rate": 2,
        "systolic_bp": 0,
        "crt_seconds": 0,
    },
    "risk": "medium",
    "complete": False,
    "missing": ["oxygen"],
    "spo2_scale": None,
}
MEWS: dict[str, Any] = {
    **NEWS2,
    "system": "MEWS",
    "chart": "meows-send",
    "total": 8,
    "parameters": {"resp_rate": 0, "temperature": 8, "diastolic_bp": 0},
    "risk": "high",
}
ALERT: dict[str, Any] = {
    "alert_id": "a-1029",
    "patient_id": "P001",
    "ward": "7A",
    "bed": "12",
    "time": "2026-11-22T09:30:01Z",
    "kind": "score",
    "severity": "urgent",
    "state": "raised",
    "message": "NEWS2 5 (medium): urgent assessment",
    "obs_msg_id": "obs-7f3a",
    "seq": 1,
    "notify": "nurse-in-charge",
}


def codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept["coding"] if c["system"] == system]


@pytest.mark.parametrize("result", [NEWS2, PEWS, MEWS], ids=["news2", "pews", "mews"])
def test_each_score_is_a_valid_fhir_r4_observation(result: dict[str, Any]) -> None:
    resource = score_observation(result)
    FhirObservation.model_validate(resource)
    assert resource["valueInteger"] == result["total"]
    assert resource["effectiveDateTime"] == result["time"]
    assert resource["derivedFrom"][0]["identifier"]["value"] == result["obs_msg_id"]
    assert resource["subject"]["identifier"]["value"] == "P001"


def test_news2_carries_the_uk_core_codes_for_total_and_sub_scores() -> None:
    resource = score_observation(NEWS2)
    sct = "http://snomed.info/sct"
    assert codes(resource["code"], sct) == ["1104051000000101"]
    by_key = {
        codes(c["code"], "urn:ward-surveillance:fhir:CodeSystem:score-parameter")[0]: c
        for c in resource["component"]
    }
    assert codes(by_key["resp_rate"]["code"], sct) == ["1104301000000104"]
    assert codes(by_key["spo2"]["code"], sct) == ["1104311000000102"]  # scale 1
    assert by_key["temperature"]["valueInteger"] == 1
    scale2 = score_observation({**NEWS2, "spo2_scale": 2})
    assert "1104321000000108" in str(scale2["component"])
    assert resource["status"] == "final"
    assert codes(
        resource["interpretation"][0], resource["interpretation"][0]["coding"][0]["system"]
    ) == ["H"]


def test_an_incomplete_score_is_never_sent_as_final() -> None:
    resource = score_observation(PEWS)
    assert resource["status"] == "preliminary"
    assert "oxygen" in resource["note"][0]["text"]
    [absent] = [c for c in resource["component"] if "dataAbsentReason" in c]
    assert "1363321000000100" in str(absent["code"])  # PEWS inspired oxygen score
    message = hl7.parse(score_oru(PEWS))
    assert str(message.segment("OBR")[25]) == "P"
    assert all(str(obx[11]) in ("P", "X") for obx in message.segments("OBX"))


def test_the_id_is_stable_and_names_patient_observation_and_system() -> None:
    assert score_resource_id(NEWS2) == score_resource_id(dict(NEWS2))
    assert score_resource_id(NEWS2) != score_resource_id({**NEWS2, "obs_msg_id": "other"})
    assert score_resource_id(NEWS2) != score_resource_id({**NEWS2, "patient_id": "P002"})
    assert score_oru(NEWS2) == score_oru(dict(NEWS2))  # no clock: a resend is the same message


def test_an_nhs_number_is_named_as_one_only_when_it_is_one() -> None:
    assert is_nhs_number("9434765919")
    assert not is_nhs_number("9434765918")  # wrong check digit
    assert not is_nhs_number("943476591")
    assert not is_nhs_number("943 476 5919")
    valid = score_observation({**NEWS2, "patient_id": "9434765919"}, nhs_number=True)
    assert valid["subject"]["identifier"]["system"] == NHS_NUMBER_SYSTEM
    invalid = score_observation({**NEWS2, "patient_id": "9434765918"}, nhs_number=True)
    assert invalid["subject"]["identifier"]["system"] != NHS_NUMBER_SYSTEM


@pytest.mark.parametrize(
    ("system", "total", "parameters", "risk", "flag"),
    [
        ("NEWS2", 0, {}, "low", "N"),
        ("NEWS2", 4, {"resp_rate": 2}, "low", "N"),
        ("NEWS2", 3, {"spo2": 3}, "low-medium", "HIGH"),  # a red parameter
        ("NEWS2", 5, {}, "medium", "HIGH"),
        ("NEWS2", 6, {}, "medium", "HIGH"),
        ("NEWS2", 7, {}, "high", "EXTHIGH"),
        ("NEWS2", 20, {}, "high", "EXTHIGH"),
        ("MEWS", 0, {}, "low", "N"),
        ("MEWS", 2, {}, "medium", "HIGH"),
        ("MEWS", 6, {}, "medium", "HIGH"),
        ("MEWS", 8, {}, "high", "EXTHIGH"),
        ("PEWS", 0, {}, "none", "N"),
        ("PEWS", 3, {}, "low", "HIGH"),
        ("PEWS", 5, {}, "medium", "HIGH"),
        ("PEWS", 9, {}, "high", "EXTHIGH"),
        ("PEWS", 13, {}, "emergency", "EXTHIGH"),
    ],
)
def test_obx8_follows_the_send_convention(
    system: str, total: int, parameters: dict[str, int], risk: str, flag: str
) -> None:
    result = {**NEWS2, "system": system, "total": total, "parameters": parameters, "risk": risk}
    assert send_flag(result) == flag
    [total_obx] = [o for o in hl7.parse(score_oru(result)).segments("OBX") if str(o[1]) == "1"]
    assert str(total_obx[8]) == flag
    assert str(total_obx[5]) == str(total)


def test_the_oru_reads_back_with_python_hl7_and_is_refused_as_input_by_our_reader() -> None:
    """Our own reader takes the message as HL7 (placement and ids fit) and refuses it as no
    vital signs: a score fed back into an input topic is never scored as observations."""
    text = score_oru(NEWS2, Hl7Parties(receiving_application="EPR"))
    message = hl7.parse(text)
    assert str(message.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(message.segment("MSH")[12]) == "2.5"
    assert str(message.segment("PID")[3][0][0]) == "P001"
    assert str(message.segment("PV1")[3]) == "7A^^12"
    assert len(message.segments("OBX")) == 3 + len(NEWS2["parameters"])
    read = parse("wards/7A/beds/12/hl7v2", text.encode())
    assert isinstance(read, Rejected)
    assert read.error == "no-vitals", read.reason
    assert read.msg_id == str(message.segment("MSH")[10])


@given(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30),
)
def test_no_value_can_break_the_message(patient: str, text: str) -> None:
    """Delimiters, escapes and line breaks in an id or a message are escaped: the segments and
    fields stay where they are, and the value reads back unchanged."""
    oru = score_oru({**NEWS2, "patient_id": patient, "ward": text})
    message = hl7.parse(oru)
    assert [str(s[0]) for s in message][:4] == ["MSH", "PID", "PV1", "OBR"]
    assert message.unescape(str(message.segment("PID")[3][0][0])) == patient
    r40 = hl7.parse(alert_r40({**ALERT, "message": text, "alert_id": patient}))
    assert len(r40.segments("OBX")) == 8
    assert r40.unescape(str(r40.segment("OBR")[3][0][0])) == patient


@pytest.mark.parametrize(
    ("state", "seq", "phase", "alarm_state", "inactivation"),
    [
        ("raised", 1, "start", "active", "enabled"),
        ("raised", 3, "update", "active", "enabled"),  # an upgrade: the same alert again
        ("escalated", 2, "escalate", "active", "enabled"),
        ("acknowledged", 2, "update", "active", "alert-acknowledged"),
        ("resolved", 4, "end", "inactive", "enabled"),
    ],
)
def test_alert_events_are_ihe_pcd_04_report_alerts(
    state: str, seq: int, phase: str, alarm_state: str, inactivation: str
) -> None:
    message = hl7.parse(alert_r40({**ALERT, "state": state, "seq": seq}))
    assert str(message.segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert str(message.segment("MSH")[21]).startswith("IHE_PCD_ACM_001")
    assert str(message.segment("OBR")[4]) == "196616^MDC_EVT_ALARM^MDC"
    by_code = {str(obx[3][0][1]): obx for obx in message.segments("OBX")}
    assert str(by_code["MDC_ATTR_EVENT_PHASE"][5]) == phase
    assert str(by_code["MDC_ATTR_ALARM_STATE"][5]) == alarm_state
    assert str(by_code["MDC_ATTR_ALARM_INACTIVATION_STATE"][5]) == inactivation
    assert str(by_code["MDC_ATTR_ALARM_PRIORITY"][5]) == "PM"
    assert str(by_code["MDC_EVT_ALARM"][8]) == "A~PM~SP"


@pytest.mark.parametrize(
    ("severity", "priority"),
    [
        ("emergency", "PH"),
        ("PEWS/emergency", "PH"),
        ("rapid-review", "PH"),
        ("urgent", "PM"),
        ("urgent-ward", "PM"),
        ("aki-3", "PM"),
        ("aki-1", "PL"),
        ("overdue", "PL"),
        (None, "PL"),
    ],
)
def test_alarm_priority(severity: str | None, priority: str) -> None:
    assert acm_priority(severity) == priority


@pytest.mark.parametrize(
    ("time", "ts"),
    [
        ("9999-12-31T23:59:59Z", "99991231235959+0000"),
        ("1900-01-01T00:00:00+01:00", "19000101000000+0100"),
        ("2026-10-25T01:30:00-05:30", "20261025013000-0530"),
        ("not a time", ""),
    ],
)
def test_odd_times_are_written_as_given_or_left_empty(time: str, ts: str) -> None:
    message = hl7.parse(score_oru({**NEWS2, "time": time}))
    assert str(message.segment("MSH")[7]) == ts
    assert str(message.segments("OBX")[0][14]) == ts
    if ts:
        FhirObservation.model_validate(score_observation({**NEWS2, "time": time}))


def test_a_correction_is_the_observation_it_corrects_marked_corrected() -> None:
    """A correction's score (`corrects` names the observations whose readings it replaced)
    goes out as the same FHIR Observation (id and identifier of the corrected score) with
    status `corrected`, and as an ORU^R01 of the same order (OBR-3) with result status C; its
    own MSH-10, so the receiver takes it as a new message."""
    fixed = {**NEWS2, "obs_msg_id": "obs-fix", "total": 2, "corrects": ["obs-7f3a"]}
    resource = score_observation(fixed)
    FhirObservation.model_validate(resource)
    assert resource["id"] == score_resource_id(NEWS2)
    assert resource["identifier"] == score_observation(NEWS2)["identifier"]
    assert resource["status"] == "corrected"
    assert resource["derivedFrom"][0]["identifier"]["value"] == "obs-fix"
    assert "obs-7f3a" in resource["note"][0]["text"]
    assert score_observation({**fixed, "complete": False, "missing": ["spo2"]})["status"] == (
        "preliminary"
    )
    original, corrected = hl7.parse(score_oru(NEWS2)), hl7.parse(score_oru(fixed))
    assert str(corrected.segment("OBR")[3]) == str(original.segment("OBR")[3])
    assert str(corrected.segment("MSH")[10]) != str(original.segment("MSH")[10])
    assert str(corrected.segment("OBR")[25]) == "C"
    assert all(str(obx[11]) == "C" for obx in corrected.segments("OBX"))
    for other in ({**NEWS2, "corrects": []}, {**NEWS2, "corrects": "obs-7f3a"}):
        assert score_observation(other)["status"] == "final"  # not a correction
