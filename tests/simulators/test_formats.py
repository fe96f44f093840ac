"""The simulators' FHIR R4 and HL7 v2 encodings: valid, deterministic, and faithful to the set.

FHIR output is validated with the `fhir.resources` R4B models (wire-compatible with R4 for
Bundle and Observation); HL7 output is read back with python-hl7.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import hl7  # type: ignore[import-untyped]
import msgspec
import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st

from ingest import BP_PANEL, LOINC, LOINC_SYSTEM, MDC, UCUM, UCUM_SYSTEM
from scoring import ObservationSet, Vitals
from simulators import IDENTIFIER_SYSTEM, fhir_bundle, hl7v2_oru
from tests.strategies import numbers

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
DEVICE = "mon-7A-12"
BY_LOINC = {coding.code: key for key, codings in LOINC.items() for coding in codings}
BY_MDC = {mdc.code: key for key, mdc in MDC.items()}


def make(msg_id: str = "obs-7f3a", time: datetime = WHEN, **vitals: Any) -> ObservationSet:
    """A monitor's observation set for P001."""
    return ObservationSet(
        msg_id=msg_id, patient_id="P001", time=time, source="monitor", vitals=Vitals(**vitals)
    )


SETS = {
    "full monitor set": make(
        resp_rate=22,
        spo2=95,
        on_oxygen=False,
        systolic_bp=108,
        diastolic_bp=70,
        heart_rate=104,
        consciousness="A",
        temperature=38.4,
    ),
    "HR and SpO2 only": make(msg_id="wear-0001", heart_rate=88.0, spo2=97.0),
    "temperature with a decimal": make(msg_id="obs.2", temperature=36.85),
    "BP only": make(msg_id="nibp-9", systolic_bp=182.0, diastolic_bp=101.0),
}


def expected(obs: ObservationSet) -> dict[str, float]:
    """The set's mapped numeric vitals."""
    return {key: float(v) for key in MDC if (v := getattr(obs.vitals, key)) is not None}


def fhir_read(payload: bytes) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    """The Bundle, validated then as plain data, and every (vital, value) it carries.

    Checks every Observation's codes and units against the mapping on the way.
    """
    bundle: dict[str, Any] = Bundle.model_validate_json(payload).model_dump(exclude_none=True)
    found: list[tuple[str, float]] = []
    for entry in bundle.get("entry", []):
        observation = entry["resource"]
        assert observation["resourceType"] == "Observation"
        codings = [(c["system"], c["code"]) for c in observation["code"]["coding"]]
        if codings == [(LOINC_SYSTEM, BP_PANEL.code)]:
            assert "valueQuantity" not in observation
            parts = observation["component"]
        else:
            assert "component" not in observation
            parts = [observation]
        for part in parts:
            key = BY_LOINC[part["code"]["coding"][0]["code"]]
            assert [(c["system"], c["code"]) for c in part["code"]["coding"]] == [
                (LOINC_SYSTEM, c.code) for c in LOINC[key]
            ]
            quantity = part["valueQuantity"]
            assert (quantity["system"], quantity["code"]) == (UCUM_SYSTEM, UCUM[key].code)
            found.append((key, float(quantity["value"])))
    return bundle, found


def hl7_read(payload: bytes) -> tuple[Any, list[tuple[str, float]]]:
    """The parsed message and every (vital, value) its OBX segments carry, checking units."""
    assert payload.isascii()
    text = payload.decode("ascii")
    assert "\n" not in text
    assert text.endswith("\r")
    message = hl7.parse(text)
    found: list[tuple[str, float]] = []
    for obx in obx_segments(message):
        key = BY_MDC[str(obx(3)(1)(1))]
        mdc = MDC[key]
        assert str(obx(2)) == "NM"
        assert [str(obx(3)(1)(i)) for i in (1, 2, 3)] == [mdc.code, mdc.ref_id, "MDC"]
        assert [str(obx(6)(1)(i)) for i in (1, 2, 3)] == [mdc.unit_code, mdc.unit_ref_id, "MDC"]
        assert str(obx(11)) == "F"
        found.append((key, float(str(obx(5)))))
    return message, found


def obx_segments(message: Any) -> list[Any]:
    """The OBX segments, none when there are none (python-hl7's `segments` raises then)."""
    return [segment for segment in message if str(segment[0]) == "OBX"]


def hl7_time(text: str) -> datetime:
    """An HL7 `YYYYMMDDHHMMSS+ZZZZ` time."""
    return datetime.strptime(text, "%Y%m%d%H%M%S%z")


@pytest.mark.parametrize("obs", SETS.values(), ids=SETS.keys())
def test_fhir_bundle_is_valid_and_round_trips(obs: ObservationSet) -> None:
    bundle, found = fhir_read(fhir_bundle(obs, device_id=DEVICE))
    assert sorted(found) == sorted(expected(obs).items())
    head = (bundle["id"], bundle["type"], bundle["timestamp"], bundle["identifier"])
    assert head == (
        obs.msg_id,
        "collection",
        obs.time,
        {"system": IDENTIFIER_SYSTEM, "value": obs.msg_id},
    )
    observations = [entry["resource"] for entry in bundle["entry"]]
    for n, observation in enumerate(observations, start=1):
        assert observation["identifier"] == [
            {"system": IDENTIFIER_SYSTEM, "value": f"{obs.msg_id}-{n}"}
        ]
        assert observation["status"] == "final"
        assert [c["code"] for c in observation["category"][0]["coding"]] == ["vital-signs"]
        assert observation["subject"] == {"reference": "Patient/P001"}
        assert observation["device"] == {"reference": f"Device/{DEVICE}"}
        assert observation["effectiveDateTime"] == obs.time


def test_fhir_blood_pressure_is_one_panel_with_two_components() -> None:
    bundle, found = fhir_read(fhir_bundle(SETS["BP only"], device_id=DEVICE))
    (entry,) = bundle["entry"]
    assert entry["resource"]["code"]["coding"][0]["code"] == "85354-9"
    components = entry["resource"]["component"]
    assert [c["code"]["coding"][0]["code"] for c in components] == ["8480-6", "8462-4"]
    assert found == [("systolic_bp", 182.0), ("diastolic_bp", 101.0)]


def test_fhir_times_keep_their_offset_and_write_utc_as_z() -> None:
    plus_one = make(time=datetime(2026, 3, 29, 2, 15, 7, tzinfo=timezone(timedelta(hours=1))))
    assert b'"timestamp":"2026-03-29T02:15:07+01:00"' in fhir_bundle(plus_one, device_id=DEVICE)
    assert b'"timestamp":"2026-11-22T09:30:00Z"' in fhir_bundle(make(), device_id=DEVICE)


@pytest.mark.parametrize("obs", SETS.values(), ids=SETS.keys())
def test_hl7_oru_parses_and_round_trips(obs: ObservationSet) -> None:
    message, found = hl7_read(hl7v2_oru(obs, ward="7A", bed="12", device_id=DEVICE))
    assert found == list(expected(obs).items())
    msh = message.segment("MSH")
    assert [str(msh(9)(1)(i)) for i in (1, 2, 3)] == ["ORU", "R01", "ORU_R01"]
    assert (str(msh(10)), str(msh(12))) == (obs.msg_id, "2.6")
    assert str(msh(21)(1)(1)) == "IHE_PCD_001"
    assert hl7_time(str(msh(7))) == obs.time
    assert str(message.segment("PID")(3)) == "P001"
    pv1 = message.segment("PV1")
    assert (str(pv1(3)(1)(1)), str(pv1(3)(1)(3))) == ("7A", "12")
    assert hl7_time(str(message.segment("OBR")(7))) == obs.time
    for n, obx in enumerate(obx_segments(message), start=1):
        assert str(obx(1)) == str(n)
        assert hl7_time(str(obx(14))) == obs.time
        assert str(obx(18)) == DEVICE


def test_hl7_times_carry_the_offset_and_drop_fractions() -> None:
    moment = datetime(2026, 11, 22, 9, 30, 5, 250_000, tzinfo=timezone(timedelta(hours=-5)))
    message, _ = hl7_read(
        hl7v2_oru(make(time=moment, heart_rate=70), ward="7A", bed="1", device_id=DEVICE)
    )
    assert str(message.segment("OBX")(14)) == "20261122093005-0500"
    assert hl7_time(str(message.segment("MSH")(7))) == moment.replace(microsecond=0)


def test_hl7_escapes_delimiters_in_free_text() -> None:
    awkward = "a|b^c&d~e\\f"
    obs = make(msg_id="m|1", heart_rate=70)
    payload = hl7v2_oru(obs, ward="W^1", bed="B&2", device_id=awkward)
    message, found = hl7_read(payload)
    assert found == [("heart_rate", 70.0)]
    assert message.unescape(str(message.segment("MSH")(10))) == "m|1"
    assert message.unescape(str(message.segment("OBX")(18))) == awkward
    pv1 = message.segment("PV1")
    assert [message.unescape(str(pv1(3)(1)(i))) for i in (1, 3)] == ["W^1", "B&2"]


def test_hl7_keeps_decimals_without_exponents() -> None:
    obs = make(temperature=36.85, spo2=99.5, resp_rate=1e-05)
    message, found = hl7_read(hl7v2_oru(obs, ward="7A", bed="12", device_id=DEVICE))
    assert [str(obx(5)) for obx in obx_segments(message)] == ["0.00001", "99.5", "36.85"]
    assert dict(found) == expected(obs)


@pytest.mark.parametrize("obs", SETS.values(), ids=SETS.keys())
def test_outputs_are_deterministic(obs: ObservationSet) -> None:
    twin = ObservationSet(**{f: getattr(obs, f) for f in ObservationSet.__struct_fields__})
    assert fhir_bundle(obs, device_id=DEVICE) == fhir_bundle(twin, device_id=DEVICE)
    hl7_args = {"ward": "7A", "bed": "12", "device_id": DEVICE}
    assert hl7v2_oru(obs, **hl7_args) == hl7v2_oru(twin, **hl7_args)


def test_a_set_without_mapped_vitals_gives_empty_but_valid_messages() -> None:
    obs = make(consciousness="A", on_oxygen=True)
    bundle, found = fhir_read(fhir_bundle(obs, device_id=DEVICE))
    assert ("entry" not in bundle, found) == (True, [])
    message, found = hl7_read(hl7v2_oru(obs, ward="7A", bed="12", device_id=DEVICE))
    assert (len(message.segments("OBR")), found) == (1, [])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fhir_bundle(make(msg_id="obs_1", spo2=95), device_id=DEVICE), "FHIR id"),
        (lambda: fhir_bundle(make(spo2=float("nan")), device_id=DEVICE), "finite"),
        (
            lambda: hl7v2_oru(make(spo2=float("inf")), ward="7A", bed="1", device_id=DEVICE),
            "finite",
        ),
        (lambda: hl7v2_oru(make(spo2=95), ward="Zoë", bed="1", device_id=DEVICE), "ASCII"),
    ],
    ids=["bad FHIR id", "NaN", "infinity", "non-ASCII"],
)
def test_unsendable_sets_are_refused(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


PLAUSIBLE = {
    "resp_rate": numbers(4, 60),
    "spo2": numbers(50, 100),
    "systolic_bp": numbers(50, 250),
    "diastolic_bp": numbers(20, 150),
    "heart_rate": numbers(20, 250),
    "temperature": numbers(30, 43),
}
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))]
)


@given(
    vitals=st.fixed_dictionaries({}, optional=PLAUSIBLE),
    time=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=OFFSETS),
)
def test_every_present_vital_appears_once_and_nothing_is_invented(
    vitals: dict[str, float], time: datetime
) -> None:
    obs = ObservationSet(
        msg_id="prop-1",
        patient_id="P001",
        time=time.replace(microsecond=0),
        vitals=msgspec.convert(vitals, Vitals),
    )
    _, from_fhir = fhir_read(fhir_bundle(obs, device_id=DEVICE))
    _, from_hl7 = hl7_read(hl7v2_oru(obs, ward="7A", bed="12", device_id=DEVICE))
    for found in (from_fhir, from_hl7):
        assert sorted(found) == sorted(vitals.items())
