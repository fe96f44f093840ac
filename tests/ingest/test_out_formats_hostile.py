"""Hostile values in the out formats (review of issue 17 item 3): a ward, bed, patient id or
alert message may hold any character but NUL, `/`, `+` and `#` (the topic parser and the ADT
reader allow the rest), so the ER7 text must carry no raw control character an MLLP peer acts
on (`\\x0b` starts a frame, `\\x1c` then CR ends one)."""

from __future__ import annotations

import hl7  # type: ignore[import-untyped]
import pytest

from ingest import alert_r40, score_oru
from tests.ingest.test_out_formats import ALERT, NEWS2

CONTROLS = "".join(chr(c) for c in range(0x20) if c not in (0x00,)) + "\x7f"


@pytest.mark.parametrize("field", ["bed", "ward", "patient_id"])
def test_mllp_framing_bytes_in_a_field_are_escaped(field: str) -> None:
    """A bed `12\\x1c` ends PV1 with `\\x1c\\r`: a receiver reading MLLP frames takes the
    message as ending there (MSH, PID, PV1: no result), acknowledges it, and the score is lost
    while the sender counts it delivered. Every C0 control but the segment CR is escaped."""
    oru = score_oru({**NEWS2, field: f"12{CONTROLS}"})
    body = oru[:-1].replace("\r", "")  # the segment terminators apart
    assert not [c for c in body if ord(c) < 0x20], repr(oru)
    assert b"\x1c\r" not in oru.encode()[:-1]
    message = hl7.parse(oru)
    assert len(message.segments("OBX")) == 3 + len(NEWS2["parameters"])


def test_mllp_framing_bytes_in_an_alert_are_escaped() -> None:
    r40 = alert_r40({**ALERT, "bed": "9\x1c", "message": "x\x0bMSH", "notify": "a\x1c"})
    body = r40[:-1].replace("\r", "")
    assert not [c for c in body if ord(c) < 0x20], repr(r40)


@pytest.mark.parametrize("value", ["P|1", "P^1", "P~1", "P\\1", "P&1", "P\r1", "P\n1", "|^~\\&"])
@pytest.mark.parametrize("field", ["bed", "ward", "patient_id"])
def test_each_delimiter_in_each_field_reads_back_in_its_place(field: str, value: str) -> None:
    """The Hypothesis property in `test_out_formats.py` draws from all of Unicode and seldom
    draws `|`: with the `|` escape removed it still passed (mutation run). Each delimiter in
    each field, every time: the segments and OBX count stay, the value reads back."""
    message = hl7.parse(score_oru({**NEWS2, field: value}))
    assert [str(s[0][0]) for s in message][:4] == ["MSH", "PID", "PV1", "OBR"]
    assert len(message.segments("OBX")) == 3 + len(NEWS2["parameters"])
    pid, pv1 = message.segment("PID"), message.segment("PV1")
    read = {
        "patient_id": message.unescape(str(pid[3][0][0])),
        "ward": message.unescape(str(pv1[3][0][0])),
        "bed": message.unescape(str(pv1[3][0][2])),
    }
    assert read[field] == value
    r40 = hl7.parse(alert_r40({**ALERT, field: value, "message": value}))
    assert len(r40.segments("OBX")) == 8
    assert r40.unescape(str(r40.segment("OBX")[5][0][1])) == value
