"""Corrections are marked by ingest: HL7 OBX-11 C, FHIR corrected/amended (and their msg_ids)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import msgspec
import pytest

from ingest import Observation, Rejected, parse
from surveillance.online import content_digest
from tests.ingest.test_fhir import bundle, observation, quantity
from tests.ingest.test_hl7 import PCD01

FHIR = "wards/7A/beds/12/fhir"
HL7 = "wards/7A/beds/12/hl7v2"
RR = quantity(18, "/min", "/min")


def fhir(message: dict[str, Any]) -> Observation:
    result = parse(FHIR, msgspec.json.encode(message))
    assert isinstance(result, Observation), result
    return result


def lone(status: str, value: float = 18, **extra: Any) -> dict[str, Any]:
    rr = quantity(value, "/min", "/min")
    found = observation(1, ["9279-1"], rr, status=status, **extra)
    del found["identifier"]  # msg_id: the id, obs-1
    return found


@pytest.mark.parametrize(
    ("message", "msg_id", "corrected"),
    [
        (lone("final"), "obs-1", ()),
        (lone("preliminary", meta={"versionId": "3"}), "obs-1", ()),
        (lone("corrected", meta={"versionId": "2"}), "obs-1/_history/2", ("resp_rate",)),
        (lone("amended", meta={"versionId": "7"}), "obs-1/_history/7", ("resp_rate",)),
        (
            bundle(lone("corrected"), meta={"versionId": "4"}),
            "b-1/_history/4",
            ("resp_rate",),
        ),
        (  # only the corrected vital is marked; the final one is read as ever
            bundle(
                lone("corrected"),
                observation(2, ["8867-4"], quantity(88, "beats/minute", "/min")),
                meta={"versionId": "2"},
            ),
            "b-1/_history/2",
            ("resp_rate",),
        ),
    ],
)
def test_a_fhir_correction_is_marked_and_named_by_its_version(
    message: dict[str, Any], msg_id: str, corrected: tuple[str, ...]
) -> None:
    found = fhir(message)
    assert (found.msg_id, found.corrected) == (msg_id, corrected)


def test_without_a_version_a_correction_is_named_by_what_it_says() -> None:
    first = fhir(lone("corrected"))
    assert first.msg_id.startswith("obs-1/_corrected/")
    assert len(first.msg_id) == len("obs-1/_corrected/") + 12
    # The same correction serialised otherwise: the same msg_id (a repeat, not a new one).
    reordered = dict(reversed(list(lone("corrected").items())))
    assert fhir(reordered).msg_id == first.msg_id
    assert content_digest(fhir(reordered)) == content_digest(first)
    # Another value: another correction.
    assert fhir(lone("corrected", value=22)).msg_id != first.msg_id


def test_a_withdrawn_observation_is_still_left_out_not_corrected() -> None:
    found = fhir(
        bundle(lone("entered-in-error"), observation(2, ["8867-4"], quantity(88, "/min", "/min")))
    )
    assert found.corrected == ()
    assert "status:entered-in-error:9279-1" in found.ignored


def test_a_correction_id_too_long_is_refused_not_cut() -> None:
    message = lone("corrected", meta={"versionId": "9" * 64})
    message["id"] = "x" * 64
    result = parse(FHIR, msgspec.json.encode(message))
    assert isinstance(result, Rejected)
    assert result.error == "invalid"


@pytest.mark.parametrize(
    ("status", "corrected"),
    [("F", ()), ("C", ("heart_rate",)), ("R", ()), ("", ())],
)
def test_hl7_obx11_c_marks_the_reading_as_a_correction(
    status: str, corrected: tuple[str, ...]
) -> None:
    # OBX #2, the ECG heart rate: its OBX-11 changed.
    payload = PCD01.replace(b"|50-120|H|||F|", f"|50-120|H|||{status}|".encode())
    assert payload != PCD01 or status == "F"
    found = parse(HL7, payload)
    assert isinstance(found, Observation), found
    assert found.corrected == corrected
    assert found.msg_id == "MSG00017"  # HL7: MSH-10 is already the correction's own


@dataclasses.dataclass(frozen=True, slots=True)
class _Before:
    """`Observation` as it was before `corrected` was added."""

    ward: str
    bed: str
    channel: str
    obs: Any
    ignored: tuple[str, ...] = ()


def test_a_message_that_is_no_correction_keeps_its_digest() -> None:
    found = fhir(lone("final"))
    before = _Before(found.ward, found.bed, found.channel, found.obs, found.ignored)
    legacy = hashlib.sha256(msgspec.json.Encoder(order="deterministic").encode(before))
    assert content_digest(found) == legacy.hexdigest()
    assert content_digest(fhir(lone("corrected"))) != content_digest(found)
