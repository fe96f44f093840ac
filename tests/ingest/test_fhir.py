"""FHIR R4 ingest: vital-signs Observations, alone or in a Bundle, into one observation set.

Fixtures are checked against the `fhir.resources` R4B models (wire-compatible with R4 for
Bundle and Observation), so they are real FHIR, not what the parser happens to accept.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation as FhirObservation
from hypothesis import given
from hypothesis import strategies as st

from ingest import MDC, Observation, Rejected, parse
from scoring import Context, ObservationSet, Vitals, score
from simulators import fhir_bundle
from tests.strategies import numbers

TOPIC = "wards/7A/beds/12/fhir"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}


def quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def observation(
    n: int,
    codes: list[str],
    value: dict[str, Any] | None = None,
    *,
    status: str = "final",
    when: str = "2026-11-22T09:30:00+00:00",
    patient: str = "Patient/P001",
    **extra: Any,
) -> dict[str, Any]:
    """A vital-signs Observation as a monitor gateway sends it."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "identifier": [{"system": "urn:oid:1.2.826.0.1.9999.7", "value": f"gw-7a-12-000{n}"}],
        "status": status,
        "category": [VITAL_SIGNS],
        "code": {"coding": [{"system": LOINC, "code": code} for code in codes]},
        "subject": {"reference": patient},
        "effectiveDateTime": when,
        "device": {"reference": "Device/mon-7A-12"},
        **extra,
    }
    if value is not None:
        resource["valueQuantity"] = value
    return resource


# A transaction Bundle as a vendor's device gateway posts it: SpO2 with both LOINC codes (US
# Core), heart rate, the BP panel with a mean arterial pressure component, temperature, a body
# weight (not a vital read here) and a respiratory rate withdrawn as entered in error.
REALISTIC: dict[str, Any] = {
    "resourceType": "Bundle",
    "id": "b7f3a0c2-1d4e-4f51-9a7e-2c0e5d6b8a11",
    "meta": {"lastUpdated": "2026-11-22T09:30:05Z"},
    "identifier": {"system": "urn:oid:1.2.826.0.1.9999.7.1", "value": "gw-7a-12-batch-88"},
    "type": "transaction",
    "timestamp": "2026-11-22T09:30:05Z",
    "entry": [
        {
            "fullUrl": f"urn:uuid:0d5c2f9e-0000-4000-8000-00000000000{n}",
            "resource": resource,
            "request": {"method": "POST", "url": "Observation"},
        }
        for n, resource in enumerate(
            [
                observation(1, ["59408-5", "2708-6"], quantity(96, "%", "%")),
                observation(2, ["8867-4"], quantity(104, "beats/minute", "/min")),
                observation(
                    3,
                    ["85354-9"],
                    when="2026-11-22T09:28:40+00:00",
                    component=[
                        {
                            "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                            "valueQuantity": quantity(108, "mmHg", "mm[Hg]"),
                        },
                        {
                            "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                            "valueQuantity": quantity(70, "mmHg", "mm[Hg]"),
                        },
                        {
                            "code": {"coding": [{"system": LOINC, "code": "8478-0"}]},
                            "valueQuantity": quantity(83, "mmHg", "mm[Hg]"),
                        },
                    ],
                ),
                observation(4, ["8310-5"], quantity(38.4, "Cel", "Cel")),
                observation(5, ["29463-7"], quantity(71.5, "kg", "kg")),
                observation(6, ["9279-1"], quantity(40, "/min", "/min"), status="entered-in-error"),
            ]
        )
    ],
}


def bundle(*resources: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A collection Bundle of the resources, msg_id `b-1`."""
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": "b-1",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
        **fields,
    }
    if not resources:
        del out["entry"]
    return out


def read(message: dict[str, Any]) -> Observation:
    result = parse(TOPIC, msgspec.json.encode(message))
    assert isinstance(result, Observation), result
    return result


def test_the_realistic_bundle_is_valid_fhir() -> None:
    Bundle.model_validate_json(msgspec.json.encode(REALISTIC))


def test_the_realistic_bundle_is_read() -> None:
    result = read(REALISTIC)
    assert (result.ward, result.bed, result.channel) == ("7A", "12", "fhir")
    obs = result.obs
    assert (obs.msg_id, obs.patient_id, obs.source) == ("gw-7a-12-batch-88", "P001", "monitor")
    assert obs.time == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    assert obs.vitals == Vitals(
        spo2=96, heart_rate=104, systolic_bp=108, diastolic_bp=70, temperature=38.4
    )
    assert result.ignored == ("loinc:8478-0", "loinc:29463-7", "status:entered-in-error:9279-1")


def test_without_an_identifier_the_bundle_id_is_the_msg_id() -> None:
    message = copy.deepcopy(REALISTIC)
    del message["identifier"]
    assert read(message).msg_id == "b7f3a0c2-1d4e-4f51-9a7e-2c0e5d6b8a11"


def test_a_lone_observation_is_read() -> None:
    lone = observation(1, ["8867-4"], quantity(88, "beats/minute", "/min"))
    FhirObservation.model_validate_json(msgspec.json.encode(lone))
    result = read(lone)
    assert (result.msg_id, result.obs.patient_id) == ("gw-7a-12-0001", "P001")
    assert result.obs.vitals == Vitals(heart_rate=88)
    del lone["identifier"]
    assert read(lone).msg_id == "obs-1"


def test_standalone_systolic_and_diastolic_are_read() -> None:
    sbp = observation(1, ["8480-6"], quantity(120, "mmHg", "mm[Hg]"))
    dbp = observation(2, ["8462-4"], quantity(80, "mmHg", "mm[Hg]"))
    assert read(bundle(sbp, dbp)).obs.vitals == Vitals(systolic_bp=120, diastolic_bp=80)


def test_the_latest_time_is_the_sets_time_and_offsets_are_kept() -> None:
    early = observation(
        1, ["8867-4"], quantity(88, "/min", "/min"), when="2026-11-22T10:29:00+01:00"
    )
    late = observation(2, ["8310-5"], quantity(37, "Cel", "Cel"), when="2026-11-22T09:30:00Z")
    plus_one = observation(
        3, ["9279-1"], quantity(18, "/min", "/min"), when="2026-11-22T10:31:00+01:00"
    )
    assert read(bundle(early, late)).obs.time == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    assert read(bundle(early, late, plus_one)).obs.time.utcoffset() == timedelta(hours=1)


def test_an_absolute_patient_reference_and_a_repeated_equal_value_are_accepted() -> None:
    one = observation(
        1, ["59408-5"], quantity(97, "%", "%"), patient="https://fhir.example/Patient/P001"
    )
    two = observation(2, ["2708-6"], quantity(97, "%", "%"))
    result = read(bundle(one, two))
    assert (result.obs.patient_id, result.obs.vitals.spo2) == ("P001", 97)


def test_a_panel_without_components_is_listed() -> None:
    empty_panel = observation(1, ["85354-9"], dataAbsentReason={"text": "cuff failed"})
    present = observation(2, ["8867-4"], quantity(70, "/min", "/min"))
    FhirObservation.model_validate_json(msgspec.json.encode(empty_panel))
    assert read(bundle(empty_panel, present)).ignored == ("loinc:85354-9",)


def test_data_absent_is_listed_not_refused() -> None:
    absent = observation(1, ["8310-5"], dataAbsentReason={"text": "asleep"})
    present = observation(2, ["8867-4"], quantity(70, "/min", "/min"))
    FhirObservation.model_validate_json(msgspec.json.encode(absent))
    assert read(bundle(absent, present)).ignored == ("absent:8310-5",)


HR = quantity(88, "beats/minute", "/min")
# (case id, payload, error, words the reason must contain, msg_id)
CASES: list[tuple[str, bytes, str, list[str], str | None]] = [
    ("not UTF-8", b'{"resourceType": "Bundle", "id": "\xfe"}', "not-utf8", ["UTF-8"], None),
    ("not JSON", b"<Bundle xmlns='http://hl7.org/fhir'/>", "not-json", ["not JSON"], None),
    ("JSON array", b"[]", "not-fhir", ["resourceType"], None),
    ("no resourceType", b'{"id": "x"}', "not-fhir", ["resourceType", "None"], None),
    ("a Patient", b'{"resourceType": "Patient", "id": "P001"}', "not-fhir", ["'Patient'"], None),
    (
        "Bundle with a Patient",
        msgspec.json.encode(bundle({"resourceType": "Patient", "id": "P001"})),
        "not-fhir",
        ["entry[0]", "'Patient'"],
        "b-1",
    ),
    (
        "no msg_id",
        msgspec.json.encode({**bundle(observation(1, ["8867-4"], HR)), "id": None}),
        "invalid",
        ["msg_id", "Bundle.identifier.value", "Bundle.id"],
        None,
    ),
    (
        "entry without resource",
        msgspec.json.encode({**bundle(), "entry": [{"fullUrl": "urn:uuid:1"}]}),
        "invalid",
        ["entry[0].resource"],
        "b-1",
    ),
    (
        "no status",
        msgspec.json.encode(bundle({**observation(1, ["8867-4"], HR), "status": None})),
        "invalid",
        ["entry[0]", "$.status"],
        "b-1",
    ),
    (
        "registered status",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], HR, status="registered"))),
        "invalid",
        ["entry[0].resource.status", "'registered'", "final"],
        "b-1",
    ),
    (
        "value as text",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], {**HR, "value": "88"}))),
        "invalid",
        ["entry[0]", "$.valueQuantity.value"],
        "b-1",
    ),
    (
        "no value",
        msgspec.json.encode(bundle(observation(1, ["8867-4"]))),
        "invalid",
        ["entry[0]", "heart_rate", "valueQuantity"],
        "b-1",
    ),
    (
        "no subject",
        msgspec.json.encode(bundle({**observation(1, ["8867-4"], HR), "subject": None})),
        "invalid",
        ["entry[0]", "subject"],
        "b-1",
    ),
    (
        "subject a Group",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], HR, patient="Group/ward-7A"))),
        "invalid",
        ["subject.reference", "Group/ward-7A", "Patient/"],
        "b-1",
    ),
    (
        "no effective time",
        msgspec.json.encode(bundle({**observation(1, ["8867-4"], HR), "effectiveDateTime": None})),
        "invalid",
        ["entry[0]", "effectiveDateTime"],
        "b-1",
    ),
    (
        "time without offset",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], HR, when="2026-11-22T09:30:00"))),
        "invalid",
        ["entry[0]", "effectiveDateTime", "timezone"],
        "b-1",
    ),
    (
        "date only",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], HR, when="2026-11-22"))),
        "invalid",
        ["effectiveDateTime", "2026-11-22"],
        "b-1",
    ),
    (
        "two different heart rates",
        msgspec.json.encode(
            bundle(
                observation(1, ["8867-4"], HR),
                observation(2, ["8867-4"], quantity(90, "beats/minute", "/min")),
            )
        ),
        "invalid",
        ["entry[1]", "heart_rate", "twice", "88", "90"],
        "b-1",
    ),
    (
        "temperature in Fahrenheit",
        msgspec.json.encode(bundle(observation(1, ["8310-5"], quantity(101.2, "°F", "[degF]")))),
        "unit",
        ["entry[0]", "temperature", "'Cel'", "'[degF]'"],
        "b-1",
    ),
    (
        "heart rate in a non-UCUM unit",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], {"value": 88, "unit": "bpm"}))),
        "unit",
        ["heart_rate", "'/min'", "None"],
        "b-1",
    ),
    (
        "BP component in kPa",
        msgspec.json.encode(
            bundle(
                observation(
                    1,
                    ["85354-9"],
                    component=[
                        {
                            "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                            "valueQuantity": quantity(16, "kPa", "kPa"),
                        }
                    ],
                )
            )
        ),
        "unit",
        ["entry[0].resource.component[0]", "systolic_bp", "mm[Hg]", "'kPa'"],
        "b-1",
    ),
    (
        "two patients",
        msgspec.json.encode(
            bundle(
                observation(1, ["8867-4"], HR),
                observation(2, ["8310-5"], quantity(37, "Cel", "Cel"), patient="Patient/P002"),
            )
        ),
        "placement",
        ["Patient/P001", "Patient/P002", "entry[1]"],
        "b-1",
    ),
    (
        "empty Bundle",
        msgspec.json.encode(bundle()),
        "no-vitals",
        ["no vital sign", "8867-4"],
        "b-1",
    ),
    (
        "only a body weight",
        msgspec.json.encode(bundle(observation(1, ["29463-7"], quantity(70, "kg", "kg")))),
        "no-vitals",
        ["no vital sign", "loinc:29463-7"],
        "b-1",
    ),
    (
        "only withdrawn values",
        msgspec.json.encode(bundle(observation(1, ["8867-4"], HR, status="cancelled"))),
        "no-vitals",
        ["status:cancelled:8867-4"],
        "b-1",
    ),
]


@pytest.mark.parametrize(
    ("payload", "error", "words", "msg_id"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_refused_with_a_reason_naming_the_field(
    payload: bytes, error: str, words: list[str], msg_id: str | None
) -> None:
    result = parse(TOPIC, payload)
    assert isinstance(result, Rejected), result
    assert (result.topic, result.payload, result.error) == (TOPIC, payload, error)
    for word in words:
        assert word in result.reason
    assert result.msg_id == msg_id


PLAUSIBLE = {
    "resp_rate": numbers(4, 60),
    "spo2": numbers(50, 100),
    "systolic_bp": numbers(50, 250),
    "diastolic_bp": numbers(20, 150),
    "heart_rate": numbers(20, 250),
    "temperature": numbers(30, 43),
}
FHIR_ID = st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True)
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))]
)


@given(
    vitals=st.fixed_dictionaries({}, optional=PLAUSIBLE).filter(bool),
    msg_id=FHIR_ID,
    patient_id=FHIR_ID,
    time=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=OFFSETS),
    other=st.sampled_from([{}, {"on_oxygen": True}, {"consciousness": "V"}]),
)
def test_the_simulators_bundles_round_trip(
    vitals: dict[str, float], msg_id: str, patient_id: str, time: datetime, other: dict[str, Any]
) -> None:
    sent = ObservationSet(
        msg_id=msg_id,
        patient_id=patient_id,
        time=time,
        vitals=msgspec.convert({**vitals, **other}, Vitals),
    )
    result = parse(TOPIC, fhir_bundle(sent, device_id="mon-7A-12"))
    assert isinstance(result, Observation), result
    got = result.obs
    assert (got.msg_id, got.patient_id, got.time, got.source) == (
        msg_id,
        patient_id,
        time,
        "monitor",
    )
    assert {k: getattr(got.vitals, k) for k in MDC if getattr(got.vitals, k) is not None} == vitals
    assert result.ignored == ()


@pytest.mark.parametrize("spo2", [0.97, 1.0, 0.5])
def test_a_fractional_spo2_is_refused_and_the_rest_scored(charts, spo2: float) -> None:
    # Issue 12: `spo2: 0.97` scored 3. Units are never converted: it is refused, never scored;
    # since issue 17 by ingest, on its own, so the heart rate beside it still counts.
    sent = ObservationSet(
        msg_id="frac-1", patient_id="P001", time=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        vitals=Vitals(spo2=spo2, heart_rate=80),
    )  # fmt: skip
    result = read(msgspec.json.decode(fhir_bundle(sent, device_id="d")))
    assert result.obs.vitals == Vitals(heart_rate=80)
    (entry,) = result.ignored
    assert entry.startswith("refused:implausible:59408-5:")
    assert "looks like a fraction" in entry
    scored = score(result.obs, Context(cohort="adult"), charts)
    assert not scored.complete
    assert "spo2" in scored.missing


RR = observation(9, ["9279-1"], quantity(18, "breaths/minute", "/min"))
ALONE_ARE_REFUSED = {case[0]: case for case in CASES}
PER_OBSERVATION = [
    "no status",
    "registered status",
    "value as text",
    "no value",
    "no subject",
    "subject a Group",
    "no effective time",
    "time without offset",
    "date only",
    "temperature in Fahrenheit",
    "heart rate in a non-UCUM unit",
    "BP component in kPa",
]


@pytest.mark.parametrize("case", PER_OBSERVATION)
def test_one_unreadable_observation_does_not_discard_the_others(case: str) -> None:
    _, payload, error, words, _ = ALONE_ARE_REFUSED[case]
    message = msgspec.json.decode(payload)
    message["entry"].append({"resource": RR})
    result = read(message)
    assert result.obs.vitals == Vitals(resp_rate=18)
    (entry,) = [i for i in result.ignored if i.startswith("refused:")]
    assert entry.startswith(f"refused:{error}:")
    for word in words:
        assert word in entry


@pytest.mark.parametrize(
    ("code", "key"),
    [("{Breaths}/min", "resp_rate"), ("{breaths}/min", "resp_rate"), ("{beats}/min", "heart_rate")],
)
def test_ucum_annotations_carry_no_meaning(code: str, key: str) -> None:
    loinc = LOINC_OF[key]
    result = read(bundle(observation(1, [loinc], quantity(60, code, code))))
    assert getattr(result.obs.vitals, key) == 60
    assert result.ignored == ()


LOINC_OF = {"resp_rate": "9279-1", "heart_rate": "8867-4"}


@pytest.mark.parametrize("value", [-100, -1, 0, 8388607, 101])
def test_a_sentinel_is_refused_and_the_rest_read(value: float) -> None:
    result = read(bundle(observation(1, ["59408-5"], quantity(value, "%", "%")), RR))
    assert result.obs.vitals == Vitals(resp_rate=18)
    (entry,) = result.ignored
    assert entry.startswith("refused:implausible:59408-5:")
    assert f"{value} is not a reading" in entry


def test_only_sentinels_refuse_the_message_as_implausible() -> None:
    hr = observation(2, ["8867-4"], quantity(-1, "/min", "/min"))
    result = parse(TOPIC, msgspec.json.encode(bundle(hr)))
    assert isinstance(result, Rejected)
    assert (result.error, result.msg_id) == ("implausible", "b-1")
    assert "-1 is not a reading" in result.reason


SPO2_WITH_O2 = observation(
    1,
    ["59408-5", "2708-6"],
    quantity(94, "%", "%"),
    component=[
        {
            "code": {"coding": [{"system": LOINC, "code": "3151-8"}]},
            "valueQuantity": quantity(2, "L/min", "L/min"),
        }
    ],
)


def test_the_inhaled_oxygen_flow_is_supplemental_oxygen() -> None:
    FhirObservation.model_validate_json(msgspec.json.encode(SPO2_WITH_O2))
    result = read(bundle(SPO2_WITH_O2))
    assert result.obs.vitals == Vitals(spo2=94, on_oxygen=True, oxygen_flow_lpm=2)
    assert result.ignored == ()


def test_an_oxygen_flow_on_its_own_is_read_too() -> None:
    flow = observation(1, ["3151-8"], quantity(15, "L/min", "l/min"))
    assert read(bundle(flow)).obs.vitals == Vitals(on_oxygen=True, oxygen_flow_lpm=15)


@pytest.mark.parametrize(
    ("value", "unit", "error"),
    [(0, "L/min", "implausible"), (-1, "L/min", "implausible"), (2, "mL/min", "unit")],
)
def test_an_unreadable_oxygen_flow_is_listed_never_dropped(
    value: float, unit: str, error: str
) -> None:
    spo2 = copy.deepcopy(SPO2_WITH_O2)
    spo2["component"][0]["valueQuantity"] = quantity(value, unit, unit)
    result = read(bundle(spo2))
    assert result.obs.vitals == Vitals(spo2=94)  # oxygen unknown: the scorer says it is missing
    (entry,) = result.ignored
    assert entry.startswith(f"refused:{error}:3151-8:")


def test_other_components_are_listed() -> None:
    hr = observation(
        1,
        ["8867-4"],
        quantity(70, "/min", "/min"),
        component=[{"code": {"coding": [{"system": LOINC, "code": "8884-9"}]}}],
    )
    assert read(bundle(hr)).ignored == ("loinc:8884-9",)


def test_a_series_reads_the_latest_of_each_vital() -> None:
    readings = [
        observation(n, ["8867-4"], quantity(80 + n, "/min", "/min"), when=f"2026-11-22T09:30:0{n}Z")
        for n in range(4)
    ]
    result = read(bundle(*reversed(readings), RR))
    assert result.obs.vitals == Vitals(heart_rate=83, resp_rate=18)
    assert result.obs.time == datetime(2026, 11, 22, 9, 30, 3, tzinfo=UTC)
    assert sorted(result.ignored) == [
        f"earlier:loinc:8867-4@2026-11-22T09:30:0{n}+00:00={80 + n}" for n in range(3)
    ]


def test_the_same_reading_twice_is_listed_as_a_duplicate() -> None:
    one = observation(1, ["59408-5"], quantity(97, "%", "%"))
    two = observation(2, ["2708-6"], quantity(97, "%", "%"))
    assert read(bundle(one, two)).ignored == (
        "duplicate:loinc:2708-6@2026-11-22T09:30:00+00:00=97",
    )


def test_test_data_is_never_scored() -> None:
    tag = {
        "tag": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}]
    }
    whole = parse(TOPIC, msgspec.json.encode(bundle(RR, meta=tag)))
    assert isinstance(whole, Rejected)
    assert (whole.error, whole.msg_id) == ("test-data", "b-1")
    hr = observation(1, ["8867-4"], HR, meta={"security": tag["tag"]})
    FhirObservation.model_validate_json(msgspec.json.encode(hr))
    result = read(bundle(hr, RR))
    assert result.obs.vitals == Vitals(resp_rate=18)
    (entry,) = result.ignored
    assert entry.startswith("refused:test-data:8867-4:")


def test_other_resources_in_a_bundle_are_listed() -> None:
    patient = {"resourceType": "Patient", "id": "P001"}
    result = read(bundle(patient, RR))
    assert result.obs.vitals == Vitals(resp_rate=18)
    assert result.ignored == ("resource:Patient",)


def test_an_unread_observation_of_another_patient_still_refuses_the_message() -> None:
    weight = observation(1, ["29463-7"], quantity(70, "kg", "kg"), patient="Patient/P002")
    result = parse(TOPIC, msgspec.json.encode(bundle(RR, weight)))
    assert isinstance(result, Rejected)
    assert result.error == "placement"


def test_a_diastolic_of_another_time_is_never_paired_with_the_systolic() -> None:
    sbp = observation(1, ["8480-6"], quantity(120, "mmHg", "mm[Hg]"), when="2026-11-22T09:30:00Z")
    dbp = observation(2, ["8462-4"], quantity(80, "mmHg", "mm[Hg]"), when="2026-11-22T09:00:00Z")
    result = read(bundle(sbp, dbp))
    assert result.obs.vitals == Vitals(systolic_bp=120)
    assert result.ignored == ("unpaired:loinc:8462-4@2026-11-22T09:00:00+00:00=80",)


def test_an_absent_value_needs_no_time() -> None:
    absent = {**observation(1, ["8310-5"], dataAbsentReason={"text": "asleep"})}
    del absent["effectiveDateTime"]
    assert read(bundle(absent, RR)).ignored == ("absent:8310-5",)
