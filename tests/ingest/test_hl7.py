"""HL7 v2 ingest: an IHE PCD-01 ORU^R01 into one observation set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import MDC, MDC_ALSO, Observation, Rejected, parse
from scoring import Context, ObservationSet, Vitals, score
from simulators import hl7v2_oru
from tests.strategies import numbers

TOPIC = "wards/7A/beds/12/hl7v2"

# A PCD-01 report as a bedside monitor's gateway sends it over MLLP: the MDS row of the
# containment tree (status X, no value), ECG heart rate and the oximeter's pulse rate, NIBP with
# its mean (150023, not read), respiration without its own time, and a temperature withdrawn (X).
PCD01 = (
    "\x0b"
    "MSH|^~\\&|MONITOR-GW^0019C4FFFE1A2B3C^EUI-64|WARD 7A|SURVEILLANCE|TRUST|20261122093005+0000||"
    "ORU^R01^ORU_R01|MSG00017|P|2.6|||AL|NE||UNICODE UTF-8|||"
    "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r"
    "PID|||P001^^^HOSP^MR~9434765919^^^NHS^NH||O\\S\\BRIEN^MARY^^^^^L||19480302|F\r"
    "PV1||I|7A^^12^HOSP\r"
    "OBR|1|MSG00017^MONITOR-GW^0019C4FFFE1A2B3C^EUI-64|MSG00017^MONITOR-GW^0019C4FFFE1A2B3C^EUI-64|"
    "182777000^monitoring of patient^SCT|||20261122093000+0000\r"
    "OBX|1||69837^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||"
    "0019C4FFFE1A2B3C^^0019C4FFFE1A2B3C^EUI-64\r"
    "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|104|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|H|||F|||"
    "20261122093000+0000\r"
    "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|95|262688^MDC_DIM_PERCENT^MDC|90-100||||F|||"
    "20261122093000+0000\r"
    "OBX|4|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.2.1.2|102|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||"
    "20261122093000+0000\r"
    "OBX|5|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.3.1.1|108|266016^MDC_DIM_MMHG^MDC|90-160||||F|||"
    "20261122092840+0000\r"
    "OBX|6|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.3.1.2|70|266016^MDC_DIM_MMHG^MDC|50-90||||F|||"
    "20261122092840+0000\r"
    "OBX|7|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.3.1.3|83|266016^MDC_DIM_MMHG^MDC|||||F|||"
    "20261122092840+0000\r"
    "OBX|8|NM|151562^MDC_RESP_RATE^MDC|1.4.1.1|22|264928^MDC_DIM_RESP_PER_MIN^MDC|||||F\r"
    "OBX|9|NM|150364^MDC_TEMP_BODY^MDC|1.5.1.1|36.1|268192^MDC_DIM_DEGC^MDC|||||X|||"
    "20261122093000+0000\r"
    "\x1c\r"
).encode("ascii")


def read(payload: bytes, topic: str = TOPIC, tz: ZoneInfo | None = None) -> Observation:
    result = parse(topic, payload) if tz is None else parse(topic, payload, tz=tz)
    assert isinstance(result, Observation), result
    return result


def test_a_realistic_pcd01_message_is_read() -> None:
    result = read(PCD01)
    assert (result.ward, result.bed, result.channel) == ("7A", "12", "hl7v2")
    obs = result.obs
    assert (obs.msg_id, obs.patient_id, obs.source) == ("MSG00017", "P001", "monitor")
    assert obs.time == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    assert obs.vitals == Vitals(
        resp_rate=22, spo2=95, systolic_bp=108, diastolic_bp=70, heart_rate=104
    )
    assert result.ignored == (
        "status:X:69837",
        "mdc:150023",
        "status:X:150364",
        "superseded:mdc:149530",
    )


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_any_segment_ending_with_or_without_framing(ending: str) -> None:
    text = PCD01.decode("ascii").strip("\x0b\x1c\r").replace("\r", ending)
    for payload in (text, f"\x0b{text}\x1c\r", f"{text}{ending}{ending}"):
        assert read(payload.encode("ascii")).obs.vitals.heart_rate == 104


def test_the_pulse_rate_is_the_heart_rate_without_ecg() -> None:
    text = PCD01.decode("ascii").replace("147842^MDC_ECG_HEART_RATE", "999999^MDC_OTHER")
    result = read(text.encode("ascii"))
    assert result.obs.vitals.heart_rate == 102
    assert "mdc:999999" in result.ignored


def test_escapes_are_undone_in_identifiers() -> None:
    sent = ObservationSet(
        msg_id="m|1^\\x",
        patient_id="P&7~",
        time=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        vitals=Vitals(heart_rate=70),
    )
    payload = hl7v2_oru(sent, ward="W^1", bed="B&2", device_id="d")
    result = read(payload, topic="wards/W^1/beds/B&2/hl7v2")
    assert (result.obs.msg_id, result.obs.patient_id) == ("m|1^\\x", "P&7~")
    hex_escaped = PCD01.replace(b"|MSG00017|P|", b"|MSG\\XC3A9\\17|P|")
    assert read(hex_escaped).msg_id == "MSG\u00e917"  # é, in UTF-8 hex


def times(obx14: str, obr7: str = "", msh7: str = "20261122093005") -> bytes:
    """A one-OBX message with the given OBX-14, OBR-7 and MSH-7."""
    return (
        f"MSH|^~\\&|MON||||{msh7}||ORU^R01|T1|P|2.6\r"
        "PID|||P001\r"
        f"OBR|1|||182777000^monitoring of patient^SCT|||{obr7}\r"
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||70|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||"
        f"{obx14}\r"
    ).encode("ascii")


LONDON = ZoneInfo("Europe/London")
TIMES = {
    "OBX-14 with offset": (times("20261122093000+0100"), datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
    "OBX-14 minutes only": (times("202611220930-0500"), datetime(2026, 11, 22, 14, 30, tzinfo=UTC)),
    "OBX-14 fractions": (
        times("20261122093000.1234+0000"),
        datetime(2026, 11, 22, 9, 30, 0, 123400, tzinfo=UTC),
    ),
    "OBR-7 when no OBX-14": (
        times("", "20261122092000+0000"),
        datetime(2026, 11, 22, 9, 20, tzinfo=UTC),
    ),
    "MSH-7 when neither": (
        times("", "", "20261122093005+0000"),
        datetime(2026, 11, 22, 9, 30, 5, tzinfo=UTC),
    ),
    "no offset in winter is GMT": (
        times("20261122093000"),
        datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    ),
    "no offset in summer is BST": (
        times("20260701093000"),
        datetime(2026, 7, 1, 8, 30, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize(("payload", "expected"), TIMES.values(), ids=TIMES.keys())
def test_the_time_is_read_from_obx_obr_or_msh(payload: bytes, expected: datetime) -> None:
    assert read(payload).obs.time == expected


def test_a_time_without_offset_is_read_in_the_given_zone() -> None:
    result = read(times("20261122093000"), tz=ZoneInfo("America/New_York"))
    assert result.obs.time == datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    assert result.obs.time.utcoffset() == timedelta(hours=-5)


def variant(old: str, new: str) -> bytes:
    """The realistic message with one piece of text replaced."""
    text = PCD01.decode("ascii")
    assert old in text
    return text.replace(old, new, 1).encode("ascii")


# (case id, payload, error, words the reason must contain, msg_id)
CASES: list[tuple[str, bytes, str, list[str], str | None]] = [
    ("not UTF-8", PCD01.replace(b"MARY", b"M\xc4RY"), "not-utf8", ["UTF-8", "offset"], None),
    ("JSON", b'{"msg_id": "x"}', "not-hl7", ["MSH"], None),
    ("empty", b"", "not-hl7", ["MSH"], None),
    ("PID first", b"PID|||P001\rMSH|^~\\&|X", "not-hl7", ["MSH"], None),
    ("bare MSH", b"MSH|", "not-hl7", ["MSH"], None),
    (
        "ADT^A01",
        variant("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
        "not-hl7",
        ["MSH-9", "ADT^A01", "ORU^R01"],
        "MSG00017",
    ),
    ("no MSH-10", variant("|MSG00017|P|", "||P|"), "invalid", ["MSH-10"], None),
    (
        "no PID",
        variant(
            "PID|||P001^^^HOSP^MR~9434765919^^^NHS^NH||O\\S\\BRIEN^MARY^^^^^L||19480302|F\r", ""
        ),
        "invalid",
        ["PID-3"],
        "MSG00017",
    ),
    (
        "empty PID-3",
        variant("PID|||P001^^^HOSP^MR~9434765919^^^NHS^NH|", "PID||||"),
        "invalid",
        ["PID-3"],
        "MSG00017",
    ),
    ("bad escape", variant("|MSG00017|P|", "|MSG\\.br\\17|P|"), "invalid", ["MSH-10", ".br"], None),
    (
        "unterminated escape",
        variant("P001^^^HOSP", "P0\\F01^^^HOSP"),
        "invalid",
        ["PID-3", "unterminated"],
        "MSG00017",
    ),
    (
        "bad hex escape",
        variant("P001^^^HOSP", "P0\\XZZ\\01^^^HOSP"),
        "invalid",
        ["PID-3", "hex"],
        "MSG00017",
    ),
    (
        "other ward",
        variant("PV1||I|7A^^12", "PV1||I|7B^^12"),
        "placement",
        ["PV1-3.1", "'7B'", "'7A'"],
        "MSG00017",
    ),
    (
        "other bed",
        variant("PV1||I|7A^^12", "PV1||I|7A^^14"),
        "placement",
        ["PV1-3.3", "'14'", "'12'"],
        "MSG00017",
    ),
    (
        "only MAP",
        b"MSH|^~\\&|MON||||20261122093000+0000||ORU^R01|M2|P|2.6\rPID|||P001\r"
        b"OBX|1|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC||83|266016^MDC_DIM_MMHG^MDC|||||F\r",
        "no-vitals",
        ["no vital sign", "mdc:150023", "147842"],
        "M2",
    ),
    (
        "no OBX",
        b"MSH|^~\\&|MON||||20261122093000+0000||ORU^R01|M3|P|2.6\rPID|||P001\r",
        "no-vitals",
        ["no vital sign"],
        "M3",
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


# One OBX that cannot be read costs only its own value: (case id, payload, the vital lost,
# its dead-letter error, words its `ignored` entry must hold). Alone in a message, the same
# OBX refuses the message with that error.
PER_VALUE: list[tuple[str, bytes, str, str, list[str]]] = [
    (
        "OBX-2 ST",
        variant("OBX|3|NM|150456", "OBX|3|ST|150456"),
        "spo2",
        "invalid",
        ["OBX #3", "spo2", "OBX-2", "NM"],
    ),
    (
        "OBX-5 text",
        variant("|95|262688", "|ninety-five|262688"),
        "spo2",
        "invalid",
        ["OBX #3", "OBX-5", "ninety-five"],
    ),
    ("OBX-5 exponent", variant("|95|262688", "|9.5E1|262688"), "spo2", "invalid", ["9.5E1"]),
    ("OBX-5 empty", variant("|95|262688", "||262688"), "spo2", "invalid", ["OBX-5"]),
    (
        "OBX-11 I",
        variant("|90-100||||F|", "|90-100||||I|"),
        "spo2",
        "invalid",
        ["OBX #3", "OBX-11", "'I'"],
    ),
    (
        "OBX-14 date only",
        variant("|90-100||||F|||20261122093000+0000", "|90-100||||F|||20261122"),
        "spo2",
        "invalid",
        ["OBX #3 OBX-14", "20261122"],
    ),
    (
        "OBX-14 month 13",
        variant("|90-100||||F|||20261122093000+0000", "|90-100||||F|||20261322093000"),
        "spo2",
        "invalid",
        ["OBX #3 OBX-14", "month"],
    ),
    (
        "OBX-14 offset minutes",
        variant("|90-100||||F|||20261122093000+0000", "|90-100||||F|||20261122093000+0075"),
        "spo2",
        "invalid",
        ["OBX-14", "+0075"],
    ),
    (
        "SpO2 as fraction unit",
        variant("262688^MDC_DIM_PERCENT", "262656^MDC_DIM_DIMLESS"),
        "spo2",
        "unit",
        ["OBX #3", "spo2", "OBX-6", "262656", "262688", "'%'"],
    ),
    (
        "SpO2 sentinel -100",
        variant("|95|262688", "|-100|262688"),
        "spo2",
        "implausible",
        ["OBX #3", "-100", "no value"],
    ),
    (
        "SpO2 sentinel 8388607",
        variant("|95|262688", "|8388607|262688"),
        "spo2",
        "implausible",
        ["8388607", "≤ 100"],
    ),
    ("SpO2 zero", variant("|95|262688", "|0|262688"), "spo2", "implausible", ["not measured"]),
    (
        "SpO2 as a fraction",
        variant("|95|262688", "|0.95|262688"),
        "spo2",
        "implausible",
        ["looks like a fraction"],
    ),
    (
        "demo mode",
        variant("|90-100||||F|", "|90-100|DEMO|||F|"),
        "spo2",
        "test-data",
        ["OBX #3", "OBX-8", "DEMO"],
    ),
    (
        "demo mode among other flags",
        variant("|90-100||||F|", "|90-100|N~demo|||F|"),
        "spo2",
        "test-data",
        ["DEMO"],
    ),
    (
        "Fahrenheit",
        variant("36.1|268192^MDC_DIM_DEGC^MDC|||||X", "97.0|266560^MDC_DIM_FAHR^MDC|||||F"),
        "temperature",
        "unit",
        ["temperature", "266560", "268192", "never converted"],
    ),
    (
        "temperature in tenths",
        variant("36.1|268192^MDC_DIM_DEGC^MDC|||||X", "384.5|268192^MDC_DIM_DEGC^MDC|||||F"),
        "temperature",
        "implausible",
        ["384.5", "< 50"],
    ),
]


def alone(payload: bytes, vital: str) -> bytes:
    """The message with only the OBX rows of `vital`'s codes (the MDS row and others gone)."""
    codes = {MDC[vital].code} | {mdc.code for mdc in MDC_ALSO.get(vital, ())}
    lines = payload.decode("ascii").strip("\x0b\x1c\r").split("\r")
    kept = [
        line
        for line in lines
        if not line.startswith("OBX") or line.split("|")[3].split("^")[0] in codes
    ]
    return "\r".join(kept).encode("ascii")


@pytest.mark.parametrize(
    ("payload", "vital", "error", "words"),
    [case[1:] for case in PER_VALUE],
    ids=[case[0] for case in PER_VALUE],
)
def test_one_bad_obx_is_refused_and_the_others_read(
    payload: bytes, vital: str, error: str, words: list[str]
) -> None:
    result = read(payload)
    good = read(PCD01).obs.vitals
    expected = msgspec.structs.replace(good, **{vital: None})
    assert result.obs.vitals == expected
    entries = [i for i in result.ignored if i.startswith("refused:")]
    assert len(entries) == 1, result.ignored
    assert entries[0].startswith(f"refused:{error}:")
    for word in words:
        assert word in entries[0]
    lone = parse(TOPIC, alone(payload, vital))
    assert isinstance(lone, Rejected), lone
    assert lone.error == error
    assert lone.msg_id == "MSG00017"
    for word in words:
        assert word.replace("OBX #3", "OBX #1").replace("OBX #9", "OBX #1") in lone.reason


def test_two_values_at_one_time_refuse_that_vital_only() -> None:
    payload = variant(
        "OBX|4|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.2.1.2|102|264864^MDC_DIM_BEAT_PER_MIN",
        "OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.2|97|262688^MDC_DIM_PERCENT",
    )
    result = read(payload)
    assert result.obs.vitals.spo2 is None
    assert result.obs.vitals.heart_rate == 104
    (entry,) = [i for i in result.ignored if i.startswith("refused:")]
    for word in ("refused:invalid:150456:", "spo2", "twice", "95 in OBX #3", "97 in OBX #4"):
        assert word in entry
    lone = parse(TOPIC, alone(payload, "spo2"))
    assert isinstance(lone, Rejected)
    assert (lone.error, lone.msg_id) == ("invalid", "MSG00017")
    assert "twice" in lone.reason


def test_refusals_of_different_kinds_make_a_no_vitals_refusal() -> None:
    payload = (
        "MSH|^~\\&|MON||||20261122093000+0000||ORU^R01|M9|P|2.6\rPID|||P001\r"
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||-100|262688^MDC_DIM_PERCENT^MDC|||||F\r"
        "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC||70|kg^kg^UCUM|||||F\r"
    ).encode("ascii")
    result = parse(TOPIC, payload)
    assert isinstance(result, Rejected)
    assert result.error == "no-vitals"
    assert "-100" in result.reason
    assert "'kg'" in result.reason


@pytest.mark.parametrize("processing", ["T", "D", "T^A"])
def test_a_training_or_debugging_message_is_test_data(processing: str) -> None:
    result = parse(TOPIC, variant("|MSG00017|P|", f"|MSG00017|{processing}|"))
    assert isinstance(result, Rejected)
    assert (result.error, result.msg_id) == ("test-data", "MSG00017")
    assert "MSH-11" in result.reason


UCUM_UNITS = [
    ("/min^/min^UCUM", "heart_rate"),
    ("{beats}/min^beats per minute^UCUM", "heart_rate"),
    ("/min", "heart_rate"),
    ("1/min^^UCUM", "heart_rate"),
]


@pytest.mark.parametrize(("unit", "vital"), UCUM_UNITS)
def test_a_ucum_unit_of_the_same_meaning_is_accepted(unit: str, vital: str) -> None:
    payload = variant("|104|264864^MDC_DIM_BEAT_PER_MIN^MDC|", f"|104|{unit}|")
    assert getattr(read(payload).obs.vitals, vital) == 104


@pytest.mark.parametrize("unit", ["/s^/s^UCUM", "{beats}/min^^MDC", "/MIN^^UCUM", "bpm"])
def test_another_unit_is_refused(unit: str) -> None:
    result = read(variant("|104|264864^MDC_DIM_BEAT_PER_MIN^MDC|", f"|104|{unit}|"))
    assert result.obs.vitals.heart_rate == 102  # the oximeter's pulse rate, next in rank
    assert any(i.startswith("refused:unit:147842:") for i in result.ignored)


def test_a_series_of_readings_reads_the_latest_and_lists_the_rest() -> None:
    rows = "".join(
        f"OBX|{2 * k + 1}|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|{94 + k % 3}|"
        f"262688^MDC_DIM_PERCENT^MDC|||||F|||2026112209300{k}+0000\r"
        f"OBX|{2 * k + 2}|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.2.1.2|{80 + k}|"
        f"264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||2026112209300{k}+0000\r"
        for k in range(5)
    )
    payload = f"MSH|^~\\&|OXI||||20261122093005+0000||ORU^R01|S1|P|2.6\rPID|||P001\r{rows}"
    result = read(payload.encode("ascii"))
    assert (result.obs.vitals.spo2, result.obs.vitals.heart_rate) == (95, 84)
    assert result.obs.time == datetime(2026, 11, 22, 9, 30, 4, tzinfo=UTC)
    earlier = [i for i in result.ignored if i.startswith("earlier:")]
    assert len(earlier) == 8
    assert "earlier:mdc:150456@2026-11-22T09:30:00+00:00=94" in earlier
    assert "earlier:mdc:149530@2026-11-22T09:30:03+00:00=83" in earlier


PLAUSIBLE = {
    "resp_rate": numbers(4, 60),
    "spo2": numbers(50, 100),
    "systolic_bp": numbers(50, 250),
    "diastolic_bp": numbers(20, 150),
    "heart_rate": numbers(20, 250),
    "temperature": numbers(30, 43),
}
ASCII_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
PLACE = st.text(st.sampled_from("AB7z09 -_.^&|~\\"), min_size=1, max_size=6)
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))]
)


@given(
    vitals=st.fixed_dictionaries({}, optional=PLAUSIBLE).filter(bool),
    msg_id=ASCII_TEXT,
    patient_id=ASCII_TEXT.filter(str.strip),
    ward=PLACE,
    bed=PLACE,
    time=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=OFFSETS),
)
def test_the_simulators_messages_round_trip(
    vitals: dict[str, float], msg_id: str, patient_id: str, ward: str, bed: str, time: datetime
) -> None:
    sent = ObservationSet(
        msg_id=msg_id, patient_id=patient_id, time=time, vitals=msgspec.convert(vitals, Vitals)
    )
    payload = hl7v2_oru(sent, ward=ward, bed=bed, device_id="mon|7A^12")
    result = read(payload, topic=f"wards/{ward}/beds/{bed}/hl7v2")
    got = result.obs
    assert (got.msg_id, got.patient_id, got.source) == (msg_id, patient_id, "monitor")
    assert got.time == time.replace(microsecond=0)
    assert got.time.utcoffset() == time.utcoffset()
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
    payload = hl7v2_oru(sent, ward="7A", bed="12", device_id="d")
    result = read(payload)
    assert result.obs.vitals == Vitals(heart_rate=80)
    (entry,) = result.ignored
    assert entry.startswith("refused:implausible:150456:")
    assert "looks like a fraction" in entry
    scored = score(result.obs, Context(cohort="adult"), charts)
    assert not scored.complete
    assert "spo2" in scored.missing


def test_a_refused_values_entry_stays_short_whatever_was_sent() -> None:
    result = read(variant("|95|262688", f"|{'9' * 5000}x|262688"))
    (entry,) = [i for i in result.ignored if i.startswith("refused:")]
    assert len(entry) < 400
    assert "more characters" in entry


def two_patients(second_pid: str, second_pv1: str = "") -> bytes:
    """Two PATIENT_RESULT groups in one ORU^R01: P001's heart rate, then another's SpO2."""
    return (
        "MSH|^~\\&|MON||||20261122093000+0000||ORU^R01|M10|P|2.6\r"
        "PID|||P001\rPV1||I|7A^^12\r"
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F\r"
        f"{second_pid}{second_pv1}"
        "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||88|262688^MDC_DIM_PERCENT^MDC|||||F\r"
    ).encode("ascii")


@pytest.mark.parametrize(
    ("second_pid", "second_pv1", "words"),
    [
        ("PID|||P002\r", "", ["PID-3", "P001", "P002"]),
        ("PID|||P002^^^HOSP^MR\r", "PV1||I|7A^^12\r", ["PID-3", "P002"]),
        ("PID|||\r", "", ["PID-3"]),  # whose are the values after it? nobody can say
        ("PID|||P001\r", "PV1||I|7A^^14\r", ["PV1-3.3", "'14'"]),  # the same patient, another bed
    ],
)
def test_a_value_of_another_patient_or_bed_is_never_read_as_this_ones(
    second_pid: str, second_pv1: str, words: list[str]
) -> None:
    # An ORU^R01 may repeat its PATIENT_RESULT group (PID, PV1, OBR, OBX...); only the first
    # PID and PV1 were read, so the second patient's SpO2 of 88 was scored as P001's.
    result = parse(TOPIC, two_patients(second_pid, second_pv1))
    assert isinstance(result, Rejected), result
    assert (result.error, result.msg_id) == ("placement", "M10")
    for word in words:
        assert word in result.reason


def test_the_same_patient_named_again_is_one_patient() -> None:
    result = read(two_patients("PID|||P001^^^HOSP^MR\r", "PV1||I|7A^^12\r"))
    assert result.obs.patient_id == "P001"
    assert (result.obs.vitals.heart_rate, result.obs.vitals.spo2) == (80, 88)
