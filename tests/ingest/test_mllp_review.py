"""Review of the HL7 v2 over MLLP pieces in `ingest` (issue 17 item 1), pure: the ACK built
from hostile text, and PV1-3 / time fields that must be refused rather than read in part."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import pytest

from ingest import Header, Location, LocationMap, Refusal, ack, translate
from tests.ingest.test_hl7_adt import MAP, adt

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ERROR_TEXT_MAX = 500  # ingest._mllp.ERROR_TEXT_MAX (private): where a reason is cut


@pytest.mark.parametrize("cut", range(ERROR_TEXT_MAX - 3, ERROR_TEXT_MAX + 1))
@pytest.mark.parametrize("delimiter", ["|", "^", "~", "&", "\\"])
def test_a_cut_reason_never_ends_in_half_an_escape(cut: int, delimiter: str) -> None:
    """MSA-3 and ERR-8 are cut at ERROR_TEXT_MAX characters: cutting after escaping could
    leave `\\F` or a lone `\\`, an unterminated escape that a strict reader refuses (ours does:
    `_Text`)."""
    text = "x" * cut + delimiter * 10
    raw = ack(Header(control_id="C1"), "AR", text, control_id="A1", now=NOW, error="invalid")
    message = hl7.parse(raw.decode())
    for value in (str(message.segment("MSA")[3]), str(message.segment("ERR")[8])):
        assert value.count("\\") % 2 == 0, value[-8:]
        assert message.unescape(value).startswith("x" * cut)


@pytest.mark.parametrize(
    "pv1_3",
    [
        "WARD2&ANNEX^205^7",  # a subcomponent in the point of care
        "WARD2^205&B^7",  # ... in the room
        "WARD2^205^7&B",  # ... in the bed
        "WARD2^205^7~ICU^^1",  # a second location (PV1-3 does not repeat)
        "WARD2^205^7~WARD2^205^8",
    ],
)
def test_a_pv1_3_read_only_in_part_is_refused_never_guessed(pv1_3: str) -> None:
    """Promise: "the location map, never a guess": `WARD2&ANNEX` is not WARD2, nor bed `7&B` 7;
    reading the first subcomponent or repetition and dropping the rest places the patient by
    a guess."""
    with pytest.raises(Refusal) as refused:
        translate(adt(pv1_3=pv1_3), MAP, tz=LONDON)
    assert refused.value.error == "placement"


def test_a_facility_with_subcomponents_is_still_read() -> None:
    """PV1-3.4 is an HD (namespace & universal id & type): its subcomponents are legitimate."""
    forward = translate(adt(pv1_3="IN1^214^3^1&1.2.3&ISO"), MAP, tz=LONDON)
    assert (forward.place.ward, forward.place.bed) == ("INPT1", "3")


@pytest.mark.parametrize("offset", ["+0099", "-0160", "+0060"])
def test_a_time_offset_with_impossible_minutes_is_refused(offset: str) -> None:
    with pytest.raises(Refusal) as refused:
        translate(adt(evn_2=f"202611220800{offset}"), MAP, tz=LONDON)
    assert refused.value.error == "invalid"


@pytest.mark.xfail(
    strict=True,
    reason="review-mllp finding: `room-bed` joins room and bed with '-', so room 1-2 bed 3 "
    "and room 1 bed 2-3 are one bed id",
)
def test_room_bed_ids_of_two_beds_differ() -> None:
    rooms = LocationMap([Location(point_of_care="W", ward="W", cohort="adult", bed="room-bed")])
    assert rooms.place("W", "1-2", "3", "") != rooms.place("W", "1", "2-3", "")
