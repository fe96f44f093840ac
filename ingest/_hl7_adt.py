"""HL7 v2 messages from a PAS or a monitor gateway (over MLLP) into this system's inputs, pure.

`translate` takes one message and gives what to publish (`Forward`), or raises `Refusal`:

- ADT A01 (admit), A04 (register), A02 (transfer), A03 (discharge), A08 (update patient
  information), A11 (cancel admit), A12 (cancel transfer), A13 (cancel discharge) become the
  native patient context of CONTRACT §2 on `wards/{ward}/beds/{bed}/adt` (retained), checked by
  the same parser as a native ADT message (`ingest.parse`), so an ADT over HL7 places patients
  exactly as the native one does:

  | event | native `event` | at (PV1-3, HL7 v2.5 chapter 3) |
  |---|---|---|
  | A01, A04 | `admit` | the assigned location |
  | A02 | `transfer` | the new location (the scorer empties the old bed) |
  | A03 | `discharge` | the location discharged from |
  | A08 | `admit` (`update`: the caller checks the patient is in that bed) | the current location |
  | A11 | `discharge` | the location of the cancelled admission |
  | A12 | `transfer` | the location before the cancelled transfer (v2.5: PV1-3 "must show the location of the patient prior to the original transfer") |
  | A13 | `admit` | the location after the cancellation |

  `msg_id` is MSH-10; `time` is EVN-2 (recorded), else MSH-7; `patient_id` is PID-3's first
  identifier (as an ORU^R01's is read, so the monitor's results find the patient);
  `birth_date` PID-7 (a date, at least YYYYMMDD); `sex` PID-8 (M → 1, F → 2, U → X; other
  codes left out); `ethnicity` PID-22 when it is an NHS ethnic category code; `cohort` comes
  from the location map (a ward's patients are adults, children or maternity).
- ORU^R01 is forwarded as ER7 on `wards/{ward}/beds/{bed}/hl7v2`, its PV1-3 replaced by the
  mapped `ward^^bed` (the scorer compares PV1-3 with the topic), after `ingest.parse` has read
  it as the scorer will (a refusal is answered at once, not found later in a dead letter).

The ward and bed always come from PV1-3 through `LocationMap`, never guessed: a location with
no entry, or a PV1-3 without the parts the entry needs, is refused (`placement`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec

from ingest._hl7 import _leaf
from ingest._model import Admission, Observation, Rejected
from ingest._native import Refusal, check_msg_id
from ingest._parse import parse
from ingest._topics import bed_topic

Cohort = Literal["adult", "child", "maternity"]

ADT_EVENTS: Final[Mapping[str, tuple[Literal["admit", "transfer", "discharge"], str]]] = {
    "A01": ("admit", "admit"),
    "A04": ("admit", "register"),
    "A02": ("transfer", "transfer"),
    "A03": ("discharge", "discharge"),
    "A08": ("admit", "update patient information"),
    "A11": ("discharge", "cancel admit"),
    "A12": ("transfer", "cancel transfer"),
    "A13": ("admit", "cancel discharge"),
}
"""The ADT trigger events read: the native event each becomes, and what it is."""

_ID: Final = re.compile(r"[^/+#|^~\\&\x00-\x1f\x7f]{1,64}")
"""A ward or bed id: one MQTT topic level without wildcards, and no HL7 delimiter (it is
written into PV1-3), 1 to 64 characters."""

_NHS_ETHNICITY: Final = frozenset("ABCDEFGHJKLMNPRSZ") | {"99"}
_SEX: Final = {"M": "1", "F": "2", "U": "X"}
"""HL7 table 0001 administrative sex → NHS person stated gender code (CONTRACT §2); O
(other), A (ambiguous) and N (not applicable) have no exact NHS code and are left out."""
_TEST_PROCESSING: Final = {"T": "training", "D": "debugging"}
_DTM: Final = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?(?:([+-])(\d{2})([0-5]\d))?"
)


def id_problem(value: str) -> str | None:
    """Why `value` cannot be a ward or bed id, or None."""
    if not _ID.fullmatch(value) or not value.strip():
        return (
            f"{value!r} cannot be a ward or bed id: 1 to 64 characters, none of / + # and no "
            "HL7 delimiter (| ^ ~ \\ &) or control character"
        )
    return None


class Location(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One `[[mllp.locations]]` entry: which PV1-3 values are which of our wards.

    An entry matches a PV1-3 (PL: point of care ^ room ^ bed ^ facility ^ ...) when
    `point_of_care` equals PV1-3.1 and, if `facility` is given, PV1-3.4 (its first
    component) equals it; an entry naming the facility wins over one that does not. The bed
    id is PV1-3.3 (`bed = "bed"`), PV1-3.2 (`"room"`) or `room-bed` (`"room-bed"`), taken
    verbatim; when `beds` is given, that value is looked up in it and one not listed is
    refused.
    """

    point_of_care: str
    ward: str
    cohort: Cohort
    facility: str = ""
    bed: Literal["bed", "room", "room-bed"] = "bed"
    beds: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a PV1-3 is: our ward and bed, and the ward's cohort."""

    ward: str
    bed: str
    cohort: Cohort


class Unmapped(Refusal):
    """`placement`: PV1-3's point of care is in no entry of the location map (a place this
    system does not watch), as opposed to a PV1-3 that cannot be read."""


class LocationMap:
    """PV1-3 → our ward and bed (see `Location`); never a guess."""

    def __init__(self, locations: Sequence[Location]) -> None:
        """Raises:
        ValueError: an entry repeats another's point of care and facility, or names an id
            that cannot be one (`id_problem`)."""
        self._entries: dict[tuple[str, str], Location] = {}
        for n, location in enumerate(locations, 1):
            key = (location.point_of_care, location.facility)
            where = f"location {n} ({location.point_of_care!r})"
            if not location.point_of_care:
                msg = f"{where}: point_of_care is empty"
                raise ValueError(msg)
            if key in self._entries:
                msg = f"{where}: point_of_care and facility repeat an earlier entry's"
                raise ValueError(msg)
            for value in [location.ward, *(location.beds or {}).values()]:
                if problem := id_problem(value):
                    raise ValueError(f"{where}: {problem}")
            self._entries[key] = location

    def __len__(self) -> int:
        return len(self._entries)

    def cohort_of(self, ward: str) -> Cohort | None:
        """The cohort of `ward` (its first entry's), or None when no entry names it."""
        return next((e.cohort for e in self._entries.values() if e.ward == ward), None)

    def place(self, point_of_care: str, room: str, bed: str, facility: str) -> Place:
        """Our ward and bed for PV1-3's parts.

        Raises:
            Refusal: `placement`, saying what is missing or not mapped.
        """
        shown = "^".join([point_of_care, room, bed, facility]).rstrip("^")
        if not point_of_care:
            msg = (
                f"HL7: PV1-3 assigned patient location {shown!r} has no point of care "
                "(PV1-3.1): the ward cannot be known"
            )
            raise Refusal("placement", msg)
        entry = self._entries.get((point_of_care, facility)) or self._entries.get(
            (point_of_care, "")
        )
        if entry is None:
            msg = (
                f"HL7: PV1-3 point of care {point_of_care!r}"
                f"{f' (facility {facility!r})' if facility else ''} is not in the location "
                "map ([[mllp.locations]]); add it, or the message cannot be placed"
            )
            raise Unmapped("placement", msg)
        parts = {"bed": bed, "room": room}
        if entry.bed == "room-bed":
            key = f"{room}-{bed}" if room and bed else ""
            needs = "PV1-3.2 room and PV1-3.3 bed"
        else:
            key = parts[entry.bed]
            needs = "PV1-3.3 bed" if entry.bed == "bed" else "PV1-3.2 room"
        if not key:
            msg = f"HL7: PV1-3 {shown!r} has no {needs}, which names the bed on {entry.ward}"
            raise Refusal("placement", msg)
        if entry.beds is not None:
            if key not in entry.beds:
                msg = f"HL7: PV1-3 {shown!r}: bed {key!r} is not in the map of {point_of_care!r}"
                raise Refusal("placement", msg)
            key = entry.beds[key]
        elif problem := id_problem(key):
            raise Refusal("placement", f"HL7: PV1-3 {shown!r}: {problem}")
        return Place(entry.ward, key, entry.cohort)


@dataclass(frozen=True, slots=True)
class Forward:
    """What to publish for a message, and what it does."""

    topic: str
    payload: bytes
    retain: bool
    msg_id: str
    kind: Literal["adt", "oru"]
    trigger: str
    """`A01` ... `A13`, or `R01`."""
    patient_id: str
    place: Place
    placement: Literal["placed", "left", "update", "away", "none"]
    """What the message does to the patient's placement: put in `place`, taken out of it,
    their details updated where they are (A08: apply only if they are there), moved to a
    place the map does not hold (`away`: a transfer out of the watched wards; `place` is
    meaningless, `topic` empty, and `leaving` makes the discharge from where they were), or
    nothing (an ORU^R01)."""
    time: datetime | None = None
    """An ADT message's time (the native `time`); None for an ORU^R01 (its readings' times are
    the scorer's to judge)."""


def message_kind(payload: bytes) -> tuple[str, str]:
    """MSH-9's message type and trigger event, read leniently ("" where absent)."""
    text = payload.decode("utf-8", "replace").lstrip("\r\n\x0b ")
    if not text.startswith("MSH") or len(text) < 8:
        return "", ""
    fields = re.split(r"[\r\n]", text, maxsplit=1)[0].split(text[3])
    parts = fields[8].split(text[4]) if len(fields) > 8 else []
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


def translate(
    payload: bytes,
    locations: LocationMap,
    *,
    tz: ZoneInfo,
    prefix: str = "",
    not_after: datetime | None = None,
) -> Forward:
    """What `payload` (one HL7 v2 message, unframed) becomes here; see the module's doc.

    Raises:
        Refusal: `not-utf8`, `not-hl7` (not ADT or ORU^R01, an ADT event not read here, or
            not ER7), `invalid`, `placement`, `test-data`, or whatever the
            native parser refuses the result for.
    """
    decoded, latin_1 = _decode(payload)
    message = _message(decoded)
    text = _Text(message)
    msh = message.segment("MSH")
    kind, trigger = _leaf(msh, 9, 0, 0), _leaf(msh, 9, 0, 1)
    msg_id = text(_leaf(msh, 10), "MSH-10", None)
    if not msg_id:
        raise Refusal("invalid", "HL7: MSH-10 message control id is empty; it is the msg_id")
    check_msg_id(msg_id, "HL7: MSH-10 message control id (the msg_id)")
    if (kind, trigger) == ("ORU", "R01"):
        return _oru(
            decoded,
            latin_1,
            message,
            text,
            msg_id,
            locations=locations,
            tz=tz,
            prefix=prefix,
            not_after=not_after,
        )
    if kind != "ADT":
        given = f"{kind}^{trigger}".strip("^")
        msg = f"HL7: MSH-9 message type {given!r} is not read here; expected ADT or ORU^R01"
        raise Refusal("not-hl7", msg, msg_id)
    if trigger not in ADT_EVENTS:
        known = ", ".join(f"{t} ({what})" for t, (_, what) in ADT_EVENTS.items())
        msg = f"HL7: ADT^{trigger} is not read here (no placement follows from it); read: {known}"
        raise Refusal("not-hl7", msg, msg_id)
    if (processing := _leaf(msh, 11, 0, 0)) in _TEST_PROCESSING:
        msg = (
            f"HL7: MSH-11 processing id is {processing!r} ({_TEST_PROCESSING[processing]}): "
            "not a real patient's movement; only P (production) messages place patients"
        )
        raise Refusal("test-data", msg, msg_id)
    return _adt(message, text, msg_id, trigger, locations=locations, tz=tz, prefix=prefix)


def _adt(
    message: Any,
    text: _Text,
    msg_id: str,
    trigger: str,
    *,
    locations: LocationMap,
    tz: ZoneInfo,
    prefix: str,
) -> Forward:
    event, what = ADT_EVENTS[trigger]
    pid, pv1 = _one(message, "PID", msg_id), _one(message, "PV1", msg_id)
    patient = text(_leaf(pid, 3, 0, 0), "PID-3", msg_id)
    if not patient.strip():
        raise Refusal("invalid", "HL7: PID-3 patient identifier is empty", msg_id)
    try:
        place: Place | None = _place(pv1, text, msg_id, locations)
    except Unmapped as unmapped:
        if event != "transfer":
            raise
        place, away = None, unmapped  # moved out of the watched wards: see `leaving`
    evn = _maybe(message, "EVN")
    stamp, field = (
        (_leaf(evn, 2), "EVN-2")
        if evn is not None and _leaf(evn, 2)
        else (
            _leaf(message.segment("MSH"), 7),
            "MSH-7",
        )
    )
    if not stamp:
        msg = "HL7: no time: EVN-2 (recorded date/time) and MSH-7 are both empty"
        raise Refusal("invalid", msg, msg_id)
    when = _time(stamp, field, tz, msg_id)
    if place is None:
        # What identifies this message's effect (its digest), whatever bed it empties.
        said = f"away\n{patient}\n{when.isoformat()}\n{away.reason}".encode()
        nowhere = Place("", "", "adult")
        return Forward("", said, True, msg_id, "adt", trigger, patient, nowhere, "away", when)
    context: dict[str, Any] = {
        "msg_id": msg_id,
        "time": when.isoformat(),
        "event": event,
        "patient_id": patient,
        "cohort": place.cohort,
    }
    if born := _leaf(pid, 7):
        context["birth_date"] = _date(born, "PID-7", msg_id).isoformat()
    if (sex := _SEX.get(_leaf(pid, 8).upper())) is not None:
        context["sex"] = sex
    if (ethnicity := _leaf(pid, 22, 0, 0)) in _NHS_ETHNICITY:
        context["ethnicity"] = ethnicity
    payload = msgspec.json.encode(context)
    topic = bed_topic(prefix, place.ward, place.bed, "adt")
    checked = parse(topic, payload, prefix=prefix, tz=tz)
    if isinstance(checked, Rejected):
        msg = f"HL7 ADT^{trigger} ({what}) as {checked.reason}"
        raise Refusal(checked.error, msg, msg_id)
    assert isinstance(checked, Admission)  # noqa: S101 - the adt topic gives an Admission
    placement: Literal["placed", "left", "update"] = (
        "update" if trigger == "A08" else "left" if event == "discharge" else "placed"
    )
    return Forward(
        topic, payload, True, msg_id, "adt", trigger, patient, place, placement, time=when
    )


def leaving(
    forward: Forward, ward: str, bed: str, locations: LocationMap, *, prefix: str = "", tz: ZoneInfo
) -> Forward:
    """For a transfer out of the watched wards (`forward.placement == "away"`) of a patient
    this listener last placed in `ward`/`bed`: the native discharge from that bed (so the
    patient leaves the board and their alerts stop climbing), as the same message.

    Raises:
        Refusal: whatever the native parser refuses the discharge for.
    """
    cohort = locations.cohort_of(ward) or "adult"
    context = {
        "msg_id": forward.msg_id,
        "time": forward.time.isoformat() if forward.time is not None else "",
        "event": "discharge",
        "patient_id": forward.patient_id,
        "cohort": cohort,
    }
    payload = msgspec.json.encode(context)
    topic = bed_topic(prefix, ward, bed, "adt")
    checked = parse(topic, payload, prefix=prefix, tz=tz)
    if isinstance(checked, Rejected):
        msg = (
            f"HL7 ADT^{forward.trigger} out of the watched wards, as a discharge: {checked.reason}"
        )
        raise Refusal(checked.error, msg, forward.msg_id)
    place = Place(ward, bed, cohort)
    return Forward(
        topic,
        payload,
        True,
        forward.msg_id,
        "adt",
        forward.trigger,
        forward.patient_id,
        place,
        "left",
        forward.time,
    )


def _oru(
    decoded: str,
    latin_1: bool,
    message: Any,
    text: _Text,
    msg_id: str,
    *,
    locations: LocationMap,
    tz: ZoneInfo,
    prefix: str,
    not_after: datetime | None,
) -> Forward:
    pv1s = [segment for segment in message if _leaf(segment, 0) == "PV1"]
    if not pv1s:
        msg = "HL7: ORU^R01 without a PV1 segment: its PV1-3 names the bed, which cannot be known"
        raise Refusal("placement", msg, msg_id)
    places = {_place(pv1, text, msg_id, locations) for pv1 in pv1s}
    if len(places) > 1:
        shown = ", ".join(sorted(f"{p.ward}/{p.bed}" for p in places))
        raise Refusal("placement", f"HL7: the PV1 segments name several beds: {shown}", msg_id)
    [place] = places
    routed = _with_location(decoded, place, utf8=latin_1)
    topic = bed_topic(prefix, place.ward, place.bed, "hl7v2")
    checked = parse(topic, routed, prefix=prefix, tz=tz, not_after=not_after)
    if isinstance(checked, Rejected):
        raise Refusal(checked.error, checked.reason, msg_id)
    assert isinstance(checked, Observation)  # noqa: S101 - the hl7v2 topic gives one
    patient = checked.obs.patient_id
    return Forward(topic, routed, False, msg_id, "oru", "R01", patient, place, "none")


def _with_location(decoded: str, place: Place, *, utf8: bool = False) -> bytes:
    """The ER7 text with every PV1-3 replaced by `ward^^bed`, segments ended by `\\r`, in
    UTF-8 (`utf8`: the message was ISO 8859-1, and its MSH-18 now says `UNICODE UTF-8`)."""
    text = decoded.strip().strip("\x0b\x1c").strip()
    field, component = text[3], text[4]
    lines = [line for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if line]
    out = []
    for line in lines:
        if utf8 and line.startswith("MSH"):
            parts = line.split(field)
            parts += [""] * (18 - len(parts))
            parts[17] = "UNICODE UTF-8"
            out.append(field.join(parts))
            continue
        if not line.startswith(f"PV1{field}"):
            out.append(line)
            continue
        parts = line.split(field)
        parts += [""] * (4 - len(parts))
        parts[3] = f"{place.ward}{component}{component}{place.bed}"
        out.append(field.join(parts))
    return ("\r".join(out) + "\r").encode("utf-8")


def _place(pv1: Any, text: _Text, msg_id: str, locations: LocationMap) -> Place:
    # PV1-3 is one location (not repeatable), and its point of care, room and bed are plain
    # strings: a second repetition or a subcomponent would be dropped by reading the first
    # one, which is a guess (`WARD2&X^1^7` is not WARD2, `~ICU^^1` names another bed).
    raw = str(pv1[3]) if len(pv1) > 3 else ""
    separators = text.separators
    repetition, component, subcomponent = separators[2], separators[3], separators[4]
    if repetition in raw or any(subcomponent in part for part in raw.split(component)[:3]):
        msg = (
            f"HL7: PV1-3 assigned patient location {raw[:200]!r} has a repetition or a "
            "subcomponent in its point of care, room or bed: the bed cannot be known"
        )
        raise Refusal("placement", msg, msg_id)
    parts = [text(_leaf(pv1, 3, 0, n), f"PV1-3.{n + 1}", msg_id) for n in range(3)]
    facility = text(_leaf(pv1, 3, 0, 3, 0), "PV1-3.4", msg_id)
    try:
        return locations.place(parts[0], parts[1], parts[2], facility)
    except Refusal as refusal:  # the same kind (`Unmapped` stays one), with the msg_id
        raise type(refusal)(refusal.error, refusal.reason, msg_id) from None


_LATIN_1: Final = frozenset({"8859/1", "ISO-8859-1", "ISO_IR 100"})
"""MSH-18 values (HL7 table 0211, and the DICOM name some engines send) of ISO 8859-1."""


def _decode(payload: bytes) -> tuple[str, bool]:
    """The message's text, and whether it was ISO 8859-1 (MSH-18 `8859/1`) rather than UTF-8.

    UTF-8 (ASCII included) is read whatever MSH-18 says; bytes that are not UTF-8 are read as
    ISO 8859-1 only when MSH-18 says so, else refused (`not-utf8`).
    """
    try:
        return payload.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        text = payload.decode("latin-1")
        if _charset(text) in _LATIN_1:
            return text, True
        msg = (
            f"the message is not UTF-8 text: byte 0x{payload[exc.start]:02x} at offset "
            f"{exc.start} is not valid UTF-8, and MSH-18 does not say 8859/1; send ASCII, "
            "UTF-8, or ISO 8859-1 with MSH-18 8859/1"
        )
        raise Refusal("not-utf8", msg) from None


def _charset(text: str) -> str:
    """MSH-18 (its first repetition), read leniently; "" if absent."""
    text = text.lstrip("\r\n\x0b ")
    if not text.startswith("MSH") or len(text) < 8:
        return ""
    fields = re.split(r"[\r\n]", text, maxsplit=1)[0].split(text[3])
    return fields[17].split(text[5])[0].strip() if len(fields) > 17 else ""


def _message(text: str) -> Any:
    if "\x00" in text:
        raise Refusal("invalid", "HL7: the message holds a NUL character")
    text = text.strip().strip("\x0b\x1c").strip()
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    text = "\r".join(line for line in lines if line.strip())
    if not text.startswith("MSH") or len(text) < 8 or text[3].isalnum():
        msg = "HL7: the message does not start with an MSH segment; expected ER7 HL7 v2"
        raise Refusal("not-hl7", msg)
    try:
        return hl7.parse(text)
    except Exception as exc:  # python-hl7 raises assorted errors on junk
        msg = f"HL7: the message cannot be read as ER7 ({type(exc).__name__}: {exc})"
        raise Refusal("not-hl7", msg) from None


def _maybe(message: Any, name: str) -> Any:
    return next((s for s in message if _leaf(s, 0) == name), None)


def _one(message: Any, name: str, msg_id: str) -> Any:
    segment = _maybe(message, name)
    if segment is None:
        raise Refusal("invalid", f"HL7: the message has no {name} segment", msg_id)
    return segment


class _Text:
    """Escape sequences in an identifier, by the message's own delimiters; a formatting or
    unknown escape is refused (`invalid`)."""

    def __init__(self, message: Any) -> None:
        separators: str = message.separators
        self.separators = separators
        self.esc: str = message.esc
        self.table = {
            "F": separators[1],
            "R": separators[2],
            "S": separators[3],
            "T": separators[4],
            "E": self.esc,
        }

    def __call__(self, value: str, field: str, msg_id: str | None) -> str:
        if self.esc not in value:
            return value
        parts = value.split(self.esc)
        if len(parts) % 2 == 0:
            msg = f"HL7: {field} {value!r} has an unterminated escape sequence"
            raise Refusal("invalid", msg, msg_id)
        out = []
        for n, part in enumerate(parts):
            if n % 2 == 0:
                out.append(part)
            elif part in self.table:
                out.append(self.table[part])
            else:
                msg = f"HL7: {field} {value!r} holds the escape \\{part}\\, not allowed in an id"
                raise Refusal("invalid", msg, msg_id)
        return "".join(out)


def _time(value: str, field: str, tz: ZoneInfo, msg_id: str) -> datetime:
    """An HL7 DTM to the minute at least; without an offset it is read in `tz` (the first of
    a repeated autumn hour)."""
    match = _DTM.fullmatch(value)
    if match is None:
        msg = f"HL7: {field} {value!r} is not a date and time (YYYYMMDDHHMM[SS][+ZZZZ])"
        raise Refusal("invalid", msg, msg_id)
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            zone: timezone | ZoneInfo = timezone(-offset if sign == "-" else offset)
        else:
            zone = tz
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=zone
        )
    except ValueError as exc:
        raise Refusal("invalid", f"HL7: {field} {value!r}: {exc}", msg_id) from None


def _date(value: str, field: str, msg_id: str) -> date:
    """The date of an HL7 DT or DTM (at least YYYYMMDD)."""
    if not re.fullmatch(r"\d{8}.*", value):
        msg = f"HL7: {field} {value!r} is not a date (YYYYMMDD)"
        raise Refusal("invalid", msg, msg_id)
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise Refusal("invalid", f"HL7: {field} {value!r}: {exc}", msg_id) from None
