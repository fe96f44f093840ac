"""HL7 v2 ADT and ORU^R01 into this system's inputs (`ingest.translate`), through the location
map: public sample messages, every ADT event read, and hostile input (Hypothesis)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import (
    ERROR_CODES,
    Location,
    LocationMap,
    Observation,
    Refusal,
    leaving,
    parse,
    translate,
)

LONDON = ZoneInfo("Europe/London")
SAMPLES = Path(__file__).parent / "samples"
ADT_SAMPLES = SAMPLES / "adt"

MAP = LocationMap(
    [
        Location(point_of_care="2000", ward="GHH2000", cohort="adult"),
        Location(point_of_care="4000", ward="GHH4000", cohort="adult"),
        Location(point_of_care="IN1", facility="1", ward="INPT1", cohort="adult"),
        Location(point_of_care="WARD2", ward="W2", cohort="adult"),
        Location(point_of_care="ICU", ward="ICU", cohort="adult"),
        Location(point_of_care="PAEDS", ward="P1", cohort="child", bed="room-bed"),
        Location(point_of_care="MAT", ward="LAB", cohort="maternity", bed="room", beds={"R1": "1"}),
    ]
)


def adt(trigger: str = "A01", *, pv1_3: str = "WARD2^205^7", **fields: str) -> bytes:
    """An ADT message in the shape a PAS sends (fields overridable by name)."""
    parts = {
        "msh_10": f"CTRL-{trigger}",
        "msh_11": "P",
        "evn_2": "20261122080000",
        "pid_3": "P001^^^TRUST^MR~9434765919^^^NHS^NH",
        "pid_7": "19480302",
        "pid_8": "F",
        "pid_22": "A",
        **fields,
    }
    return (
        f"MSH|^~\\&|PAS|TRUST|SURV|TRUST|20261122080100||ADT^{trigger}^ADT_A01|"
        f"{parts['msh_10']}|{parts['msh_11']}|2.5\r"
        f"EVN|{trigger}|{parts['evn_2']}\r"
        f"PID|1||{parts['pid_3']}||DOE^JANE||{parts['pid_7']}|{parts['pid_8']}"
        f"||||||||||||||{parts['pid_22']}\r"
        f"PV1|1|I|{pv1_3}||||||||||||||||V1\r"
    ).encode()


def context(payload: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(payload)
    return decoded


@pytest.mark.parametrize(
    ("name", "topic", "event", "patient"),
    [
        ("hl7-v2.5-adt-a01.hl7", "wards/GHH2000/beds/01/adt", "admit", "PATID1234"),
        ("hl7-v2.5-adt-a02.hl7", "wards/GHH4000/beds/01/adt", "transfer", "PATID1234"),
        ("hl7-v2.5-adt-a03.hl7", "wards/GHH4000/beds/01/adt", "discharge", "PATID1234"),
        ("a12-cancel-transfer-v2.3.hl7", "wards/INPT1/beds/1/adt", "transfer", "10006579"),
        ("a13-cancel-discharge-v2.5.1.hl7", "wards/W2/beds/1/adt", "admit", "123456"),
    ],
)
def test_public_adt_samples_are_placed(name: str, topic: str, event: str, patient: str) -> None:
    forward = translate((ADT_SAMPLES / name).read_bytes(), MAP, tz=LONDON)
    assert (forward.topic, forward.retain, forward.kind) == (topic, True, "adt")
    doc = context(forward.payload)
    assert (doc["event"], doc["patient_id"], doc["cohort"]) == (event, patient, "adult")
    assert doc["msg_id"] == forward.msg_id


def test_the_standard_a01_sample_carries_its_patient_details() -> None:
    forward = translate((ADT_SAMPLES / "hl7-v2.5-adt-a01.hl7").read_bytes(), MAP, tz=LONDON)
    doc = context(forward.payload)
    assert doc == {
        "msg_id": "MSG00001",
        "time": "2007-08-18T11:23:00+01:00",  # EVN-2, read in the hospital's time zone
        "event": "admit",
        "patient_id": "PATID1234",  # PID-3's first identifier, as an ORU^R01's is read
        "cohort": "adult",
        "birth_date": "1961-06-15",
        "sex": "1",
    }


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("nhs-pkb-a11-no-location.hl7", "placement", "no point of care"),
        ("hl7-v2.5-adt-a05-preadmit.hl7", "not-hl7", "ADT^A05 is not read here"),
    ],
)
def test_public_samples_that_place_no_one_are_refused(name: str, error: str, words: str) -> None:
    with pytest.raises(Refusal) as refused:
        translate((ADT_SAMPLES / name).read_bytes(), MAP, tz=LONDON)
    assert refused.value.error == error
    assert words in refused.value.reason
    assert refused.value.msg_id is not None  # the answer can name the message


def test_every_sample_file_is_in_the_readme() -> None:
    readme = (ADT_SAMPLES / "README.md").read_text(encoding="utf-8")
    for path in ADT_SAMPLES.glob("*.hl7"):
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize(
    ("trigger", "event", "placement"),
    [
        ("A01", "admit", "placed"),
        ("A04", "admit", "placed"),
        ("A02", "transfer", "placed"),
        ("A03", "discharge", "left"),
        ("A08", "admit", "update"),
        ("A11", "discharge", "left"),
        ("A12", "transfer", "placed"),
        ("A13", "admit", "placed"),
    ],
)
def test_each_adt_event_becomes_the_native_event_at_pv1_3(
    trigger: str, event: str, placement: str
) -> None:
    forward = translate(adt(trigger), MAP, tz=LONDON)
    assert forward.topic == "wards/W2/beds/7/adt"
    assert (forward.trigger, forward.placement) == (trigger, placement)
    doc = context(forward.payload)
    assert doc == {
        "msg_id": f"CTRL-{trigger}",
        "time": "2026-11-22T08:00:00+00:00",
        "event": event,
        "patient_id": "P001",
        "cohort": "adult",
        "birth_date": "1948-03-02",
        "sex": "2",
        "ethnicity": "A",
    }
    # The native parser takes it as it takes a native ADT message.
    assert not hasattr(parse(forward.topic, forward.payload), "error")


@pytest.mark.parametrize(
    ("pv1_3", "where"),
    [
        ("WARD2^205^7", ("W2", "7")),
        ("WARD2^^7^ANYHOSP", ("W2", "7")),  # an entry without facility matches any
        ("IN1^214^3^1", ("INPT1", "3")),
        ("PAEDS^4^B", ("P1", "4-B")),
        ("MAT^R1", ("LAB", "1")),
    ],
)
def test_the_location_map(pv1_3: str, where: tuple[str, str]) -> None:
    extra = {"pid_7": "20200101"} if pv1_3.startswith("PAEDS") else {}
    forward = translate(adt(pv1_3=pv1_3, **extra), MAP, tz=LONDON)
    assert (forward.place.ward, forward.place.bed) == where


@pytest.mark.parametrize(
    ("pv1_3", "words"),
    [
        ("", "no point of care"),
        ("WARD9^1^1", "'WARD9' is not in the location map"),
        ("IN1^214^3^2", "'IN1' (facility '2') is not in the location map"),
        ("WARD2^205", "has no PV1-3.3 bed"),
        ("PAEDS^^B", "has no PV1-3.2 room and PV1-3.3 bed"),
        ("MAT^R2", "bed 'R2' is not in the map"),
        ("WARD2^205^a/b", "cannot be a ward or bed id"),
        ("WARD2^205^+", "cannot be a ward or bed id"),
    ],
)
def test_a_location_that_is_not_mapped_is_refused_never_guessed(pv1_3: str, words: str) -> None:
    with pytest.raises(Refusal) as refused:
        translate(adt(pv1_3=pv1_3), MAP, tz=LONDON)
    assert refused.value.error == "placement"
    assert words in refused.value.reason
    assert refused.value.msg_id == "CTRL-A01"


def test_a_facility_specific_entry_wins() -> None:
    both = LocationMap(
        [
            Location(point_of_care="A", ward="GENERIC", cohort="adult"),
            Location(point_of_care="A", facility="H2", ward="SPECIFIC", cohort="adult"),
        ]
    )
    assert translate(adt(pv1_3="A^^1^H2"), both, tz=LONDON).place.ward == "SPECIFIC"
    assert translate(adt(pv1_3="A^^1^H3"), both, tz=LONDON).place.ward == "GENERIC"


@pytest.mark.parametrize(
    ("locations", "words"),
    [
        ([Location(point_of_care="A", ward="W", cohort="adult")] * 2, "repeat"),
        ([Location(point_of_care="A", ward="W/1", cohort="adult")], "cannot be a ward"),
        ([Location(point_of_care="A", ward="W", cohort="adult", beds={"1": "#"})], "cannot"),
        ([Location(point_of_care="", ward="W", cohort="adult")], "point_of_care is empty"),
    ],
)
def test_a_wrong_location_map_is_refused_at_start(locations: list[Location], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        LocationMap(locations)


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"msh_11": "T"}, "test-data", "training"),
        ({"msh_10": ""}, "invalid", "MSH-10"),
        ({"pid_3": ""}, "invalid", "PID-3"),
        ({"evn_2": "2026"}, "invalid", "EVN-2"),
        ({"evn_2": "20261340080000"}, "invalid", "EVN-2"),
        ({"pid_7": "1948"}, "invalid", "PID-7"),
        ({"pid_7": "20991231"}, "invalid", "after the message's own time"),
        ({"pid_3": "P\\.br\\1"}, "invalid", "escape"),
    ],
)
def test_bad_adt_fields_are_refused(fields: dict[str, str], error: str, words: str) -> None:
    with pytest.raises(Refusal) as refused:
        translate(adt(**fields), MAP, tz=LONDON)
    assert refused.value.error == error
    assert words in refused.value.reason


def test_a_child_needs_a_birth_date_as_the_native_adt_does() -> None:
    with pytest.raises(Refusal) as refused:
        translate(adt(pv1_3="PAEDS^4^B", pid_7=""), MAP, tz=LONDON)
    assert refused.value.error == "invalid"
    assert "birth_date" in refused.value.reason


@pytest.mark.parametrize(
    ("sex", "ethnicity", "expected"),
    [
        ("M", "J", {"sex": "1", "ethnicity": "J"}),
        ("U", "99", {"sex": "X", "ethnicity": "99"}),
        ("O", "2106-3", {}),  # no exact NHS code: left out, never mapped by guess
        ("", "", {}),
    ],
)
def test_sex_and_ethnicity_only_when_they_have_an_nhs_code(
    sex: str, ethnicity: str, expected: dict[str, str]
) -> None:
    doc = context(translate(adt(pid_8=sex, pid_22=ethnicity), MAP, tz=LONDON).payload)
    assert {k: doc[k] for k in ("sex", "ethnicity") if k in doc} == expected


def test_an_escaped_patient_id_is_unescaped() -> None:
    doc = context(translate(adt(pid_3="P\\T\\1"), MAP, tz=LONDON).payload)
    assert doc["patient_id"] == "P&1"


def test_an_oru_goes_to_the_mapped_bed_with_its_pv1_3_rewritten() -> None:
    payload = (SAMPLES / "ihe-pcd-01-example.hl7").read_bytes()
    forward = translate(payload, MAP, tz=LONDON)
    assert (forward.topic, forward.retain, forward.kind) == (
        "wards/ICU/beds/23/hl7v2",
        False,
        "oru",
    )
    segments = forward.payload.decode().split("\r")
    [pv1] = [s for s in segments if s.startswith("PV1")]
    assert pv1 == "PV1||I|ICU^^23"
    # The scorer reads it as it would the original, at the mapped bed.
    result = parse(forward.topic, forward.payload, tz=LONDON)
    assert isinstance(result, Observation)
    assert result.obs.patient_id == "010101" == forward.patient_id
    assert (result.obs.vitals.spo2, result.obs.vitals.heart_rate) == (98, 60)
    # Everything but PV1-3 is as sent.
    original = payload.decode().replace("\n", "\r").split("\r")
    assert [s for s in segments if s and not s.startswith("PV1")] == [
        s for s in original if s and not s.startswith("PV1")
    ]


def test_an_oru_that_the_scorer_would_refuse_is_refused_now() -> None:
    payload = (SAMPLES / "mindray-demo-mode.hl7").read_bytes()
    text = payload.decode()
    pv1 = next(line for line in text.splitlines() if line.startswith("PV1"))
    payload = text.replace(pv1, "PV1||I|ICU^^5").encode()
    with pytest.raises(Refusal) as refused:
        translate(payload, MAP, tz=LONDON)
    assert refused.value.error == "test-data"


@pytest.mark.parametrize(
    ("pv1s", "words"),
    [
        ([], "without a PV1"),
        (["PV1||I|ICU^^1", "PV1||I|ICU^^2"], "several beds"),
        (["PV1||I|NOWHERE^^1"], "not in the location map"),
    ],
)
def test_an_oru_without_one_mapped_bed_is_refused(pv1s: list[str], words: str) -> None:
    lines = [
        "MSH|^~\\&|GW|ICU|||20261122093000||ORU^R01|ORU-1|P|2.6",
        "PID|||P001",
        *pv1s,
        "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261122093000",
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|97|262688^MDC_DIM_PERCENT^MDC|||||R",
    ]
    with pytest.raises(Refusal) as refused:
        translate("\r".join(lines).encode(), MAP, tz=LONDON)
    assert refused.value.error == "placement"
    assert words in refused.value.reason


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"", "not-hl7"),
        (b"hello", "not-hl7"),
        (b"MSH|^~\\&|X||||||||\xff\xfe|P|2.5", "not-utf8"),
        (b"MSH|^~\\&|X||||||ORM^O01|C1|P|2.5\rPID|||1", "not-hl7"),
        (b"MSH|^~\\&|X||||||ADT^A01|C1|P|2.5\x00\rPID|||1", "invalid"),
        (b"MSH|^~\\&|X||||||ADT^A01|C1|P|2.5", "invalid"),  # no PID
    ],
)
def test_what_is_not_an_adt_or_oru_is_refused(payload: bytes, error: str) -> None:
    with pytest.raises(Refusal) as refused:
        translate(payload, MAP, tz=LONDON)
    assert refused.value.error == error


_HL7_TEXT = st.text(alphabet=st.sampled_from("|^~\\&\r\n AZ09.-+#/\x0b\x1cé"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    trigger=st.sampled_from(["A01", "A02", "A03", "A08", "A11", "A12", "A13", "A99", ""]),
    field=st.sampled_from(["msh_10", "msh_11", "evn_2", "pid_3", "pid_7", "pid_8", "pid_22"]),
    value=_HL7_TEXT,
    pv1_3=_HL7_TEXT,
)
def test_hostile_fields_give_a_refusal_or_a_placement_the_native_parser_takes(
    trigger: str, field: str, value: str, pv1_3: str
) -> None:
    try:
        forward = translate(adt(trigger, pv1_3=pv1_3, **{field: value}), MAP, tz=LONDON)
    except Refusal as refusal:
        reason, error = refusal.reason, refusal.error
        assert reason  # a refusal says why,
        assert error in ERROR_CODES  # with a known dead-letter code
        return
    if forward.placement == "away":  # a transfer out of the mapped wards: nothing to publish
        assert trigger in ("A02", "A12")
        assert forward.topic == ""
        try:  # ... until it empties a bed, checked then as any native discharge
            forward = leaving(forward, "W2", "7", MAP, tz=LONDON)
        except Refusal as refusal:
            reason, error = refusal.reason, refusal.error
            assert reason  # a refusal says why,
            assert error in ERROR_CODES  # with a known dead-letter code
            return
        assert forward.placement == "left"
    checked = parse(forward.topic, forward.payload, tz=LONDON)
    assert not hasattr(checked, "error"), checked
    assert forward.place.ward in {"GHH2000", "GHH4000", "INPT1", "W2", "ICU", "P1", "LAB"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_refusal_or_a_forward(payload: bytes) -> None:
    with contextlib.suppress(Refusal):  # anything else fails the test
        translate(b"MSH|^~\\&|" + payload, MAP, tz=LONDON)


def test_python_hl7_reads_our_forwarded_oru() -> None:
    forward = translate((SAMPLES / "ihe-pcd-01-example.hl7").read_bytes(), MAP, tz=LONDON)
    message = hl7.parse(forward.payload.decode())
    assert str(message.segment("PV1")[3]) == "ICU^^23"


LATIN_1_ADT = (
    "MSH|^~\\&|PAS|TRUST|SURV|TRUST|20261122080100||ADT^A01|L1|P|2.4|||||GBR|{charset}\r"
    "EVN|A01|20261122080000\r"
    "PID|1||P9^^^TRUST^MR||JONES^SIÂN||19480302|F\r"
    "PV1|1|I|WARD2^1^4\r"
)


@pytest.mark.parametrize(
    ("charset", "encoding", "accepted"),
    [
        ("8859/1", "latin-1", True),
        ("", "latin-1", False),  # not UTF-8, and nothing says what it is
        ("UNICODE UTF-8", "latin-1", False),
        ("", "utf-8", True),
        ("8859/1", "utf-8", True),  # UTF-8 is read whatever MSH-18 says
    ],
)
def test_iso_8859_1_is_read_when_msh_18_says_so(
    charset: str, encoding: str, accepted: bool
) -> None:
    payload = LATIN_1_ADT.format(charset=charset).encode(encoding)
    if accepted:
        assert context(translate(payload, MAP, tz=LONDON).payload)["patient_id"] == "P9"
    else:
        with pytest.raises(Refusal) as refused:
            translate(payload, MAP, tz=LONDON)
        assert refused.value.error == "not-utf8"
        assert "MSH-18" in refused.value.reason


def test_an_iso_8859_1_oru_is_forwarded_as_utf_8() -> None:
    lines = [
        "MSH|^~\\&|GW|ICU|||20261122093000||ORU^R01|ORU-L|P|2.6|||||GBR|8859/1",
        "PID|||P001||MÜLLER^JÖRG",
        "PV1||I|ICU^^3",
        "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261122093000",
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|97|262688^MDC_DIM_PERCENT^MDC|||||R",
    ]
    forward = translate("\r".join(lines).encode("latin-1"), MAP, tz=LONDON)
    text = forward.payload.decode("utf-8")
    assert "MÜLLER^JÖRG" in text
    assert text.split("\r")[0].split("|")[17] == "UNICODE UTF-8"
    assert isinstance(parse(forward.topic, forward.payload, tz=LONDON), Observation)
