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
