"""Message identity: a msg_id that is too long or holds control characters is refused on every
channel (issue 12), and a refused message's bad id is neither repeated nor stored."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import MSG_ID_MAX, Rejected, msg_id_problem, parse
from scoring import ObservationSet, Vitals
from simulators import fhir_bundle, hl7v2_oru
from tests.factories import CONTRACT_OBSERVATION

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
PLACEHOLDER = "PLACEHOLDER-ID"


def native(base: dict[str, Any]) -> Callable[[str], bytes]:
    return lambda msg_id: msgspec.json.encode({**base, "msg_id": msg_id})


def _device_set() -> ObservationSet:
    return ObservationSet(
        msg_id=PLACEHOLDER, patient_id="P001", time=WHEN, vitals=Vitals(heart_rate=80, spo2=97)
    )


def fhir(where: str) -> Callable[[str], bytes]:
    """A Bundle (or its first Observation alone) with the msg_id in `where`."""

    def build(msg_id: str) -> bytes:
        bundle = json.loads(fhir_bundle(_device_set(), device_id="d"))
        if where.startswith("bundle"):
            if where == "bundle.identifier":
                bundle["identifier"]["value"] = msg_id
            else:
                del bundle["identifier"]
                bundle["id"] = msg_id
            return json.dumps(bundle).encode()
        lone = bundle["entry"][0]["resource"]
        if where == "observation.identifier":
            lone["identifier"][0]["value"] = msg_id
        else:
            del lone["identifier"]
            lone["id"] = msg_id
        return json.dumps(lone).encode()

    return build


def _hl7_escape(msg_id: str) -> str:
    """MSH-10 as a sender escapes it: delimiters and anything not printable ASCII as \\Xhh\\."""
    out = []
    for char in msg_id:
        if char in "|^~\\&" or not (" " <= char <= "~"):
            out.append(f"\\X{char.encode('utf-8', 'surrogatepass').hex().upper()}\\")
        else:
            out.append(char)
    return "".join(out)


def hl7(msg_id: str) -> bytes:
    payload = hl7v2_oru(_device_set(), ward="7A", bed="12", device_id="d")
    return payload.replace(PLACEHOLDER.encode(), _hl7_escape(msg_id).encode())


CHANNELS: dict[str, tuple[str, Callable[[str], bytes]]] = {
    "obs": ("wards/7A/beds/12/obs", native(CONTRACT_OBSERVATION)),
    "adt": (
        "wards/7A/beds/12/adt",
        native(
            {
                "time": "2026-11-22T08:00:00Z",
                "event": "admit",
                "patient_id": "P001",
                "cohort": "adult",
            }
        ),
    ),
    "labs": (
        "wards/7A/beds/12/labs",
        native(
            {
                "patient_id": "P001",
                "time": "2026-11-22T07:00:00Z",
                "test": "creatinine",
                "value": 142,
                "unit": "umol/L",
            }
        ),
    ),
    "plan": (
        "wards/7A/beds/12/plan",
        native(
            {
                "time": "2026-11-22T09:00:00Z",
                "patient_id": "P001",
                "by": "Dr C",
                "reason": "agreed with the family",
                "ceiling": "medical-team",
            }
        ),
    ),
    "event": (
        "wards/7A/beds/12/event",
        native(
            {
                "time": "2026-11-22T11:02:00Z",
                "patient_id": "P001",
                "event": "cardiac-arrest",
                "by": "resus team",
            }
        ),
    ),
    "ack": (
        "wards/7A/alerts/a-1/ack",
        native({"time": "2026-11-22T09:05:00Z", "by": "Sister Jones"}),
    ),
    "resolve": (
        "wards/7A/alerts/a-1/resolve",
        native({"time": "2026-11-22T09:05:00Z", "by": "Sister Jones", "reason": "reviewed"}),
    ),
    "fhir Bundle.identifier": ("wards/7A/beds/12/fhir", fhir("bundle.identifier")),
    "fhir Bundle.id": ("wards/7A/beds/12/fhir", fhir("bundle.id")),
    "fhir Observation.identifier": ("wards/7A/beds/12/fhir", fhir("observation.identifier")),
    "fhir Observation.id": ("wards/7A/beds/12/fhir", fhir("observation.id")),
    "hl7v2 MSH-10": ("wards/7A/beds/12/hl7v2", hl7),
}

# (case id, msg_id, words the reason must contain)
BAD_IDS = [
    ("129 characters", "x" * (MSG_ID_MAX + 1), ["129 characters", f"at most {MSG_ID_MAX}"]),
    ("100 KiB", "x" * 100_000, ["100000 characters"]),
    ("line feed", "obs\n1", ["U+000A", "category Cc"]),
    ("carriage return", "obs\r1", ["U+000D", "category Cc"]),
    ("tab", "obs\t1", ["U+0009", "category Cc"]),
    ("NUL", "obs\x001", ["U+0000", "category Cc"]),
    ("escape", "obs\x1b[31m", ["U+001B", "category Cc"]),
    ("DEL", "obs\x7f", ["U+007F", "category Cc"]),
    ("next line (C1)", "obs\x851", ["U+0085", "category Cc"]),
    ("zero-width space", "obs\u200b1", ["U+200B ZERO WIDTH SPACE", "category Cf"]),
    ("right-to-left override", "obs\u202e1", ["U+202E", "category Cf"]),
    ("byte order mark", "\ufeffobs-1", ["U+FEFF", "category Cf", "character 0"]),
    ("soft hyphen", "obs\xad1", ["U+00AD", "category Cf"]),
    ("line separator", "obs\u20281", ["U+2028 LINE SEPARATOR", "category Zl"]),
    ("paragraph separator", "obs\u20291", ["U+2029", "category Zp"]),
]
GOOD_IDS = [
    ("128 characters", "x" * MSG_ID_MAX),
    ("contract", "obs-7f3a"),
    ("uuid", "6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b"),
    ("accented", "obs-\u00e9t\u00e9"),
]


@pytest.mark.parametrize(("msg_id", "words"), [c[1:] for c in BAD_IDS], ids=[c[0] for c in BAD_IDS])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_bad_msg_id_is_refused_on_every_channel(
    channel: str, msg_id: str, words: list[str]
) -> None:
    topic, build = CHANNELS[channel]
    payload = build(msg_id)
    result = parse(topic, payload)
    assert isinstance(result, Rejected), result
    assert result.error == "invalid"
    assert "msg_id" in result.reason
    for word in words:
        assert word in result.reason
    assert result.msg_id is None  # neither repeated in the dead letter nor stored
    assert len(result.reason) < 300  # the id is described, never quoted


@pytest.mark.parametrize("msg_id", [c[1] for c in GOOD_IDS], ids=[c[0] for c in GOOD_IDS])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_good_msg_id_is_read_on_every_channel(channel: str, msg_id: str) -> None:
    topic, build = CHANNELS[channel]
    result = parse(topic, build(msg_id))
    assert not isinstance(result, Rejected), result
    assert result.msg_id == msg_id


def test_a_bad_msg_id_is_not_passed_on_when_another_field_is_refused() -> None:
    payload = msgspec.json.encode({**CONTRACT_OBSERVATION, "msg_id": "a\nb", "time": None})
    result = parse("wards/7A/beds/12/obs", payload)
    assert isinstance(result, Rejected)
    assert (result.error, result.msg_id) == ("invalid", None)
    letter = result.dead_letter(WHEN)
    assert letter.msg_id is None


def test_a_rejection_made_elsewhere_with_a_bad_msg_id_keeps_it_out_of_the_dead_letter() -> None:
    letter = Rejected("wards/7A/beds/12/obs", b"{}", "placement", "why", "a\u2028b").dead_letter(
        WHEN
    )
    assert letter.msg_id is None


FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@given(st.text(max_size=MSG_ID_MAX + 4))
def test_msg_id_problem_says_no_exactly_to_long_empty_and_control_ids(msg_id: str) -> None:
    problem = msg_id_problem(msg_id)
    bad = (
        not msg_id
        or len(msg_id) > MSG_ID_MAX
        or any(unicodedata.category(c) in FORBIDDEN for c in msg_id)
    )
    assert (problem is not None) == bad


@given(st.text(max_size=MSG_ID_MAX + 4))
def test_any_msg_id_on_the_obs_channel_is_read_or_refused_as_invalid(msg_id: str) -> None:
    payload = msgspec.json.encode({**CONTRACT_OBSERVATION, "msg_id": msg_id})
    result = parse("wards/7A/beds/12/obs", payload)
    if msg_id_problem(msg_id) is None:
        assert result.msg_id == msg_id
    else:
        assert isinstance(result, Rejected)
        assert (result.error, result.msg_id) == ("invalid", None)
