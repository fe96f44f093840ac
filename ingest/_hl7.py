"""HL7 v2 ORU^R01 on `hl7v2`, as an IHE PCD-01 device observation reporter sends it.

Parsed with python-hl7; codes and units come from the code tables (`ingest._codes.MDC`,
`MDC_ALSO`), which the simulated monitors send with too, so the two can never drift apart.

What is read, and what is refused:

- MLLP framing (0x0b ... 0x1c 0x0d) is stripped; segments may end in `\\r`, `\\n` or `\\r\\n`.
  The ER7 text is split by `ingest._er7` (the fields read give what python-hl7's `hl7.parse`
  gives, some 40 times faster); python-hl7 reads the rare message whose delimiters it reads
  its own odd way (`ingest._er7.read`), so the answer never depends on which one did.
- MSH-9 must be ORU^R01 (else `not-hl7`); msg_id is MSH-10 (unescaped, then checked like
  every msg_id: `ingest.msg_id_problem`), the patient PID-3 (first
  repetition, first component); a later PID (a repeated PATIENT_RESULT group) must name the
  same patient (else `placement`); every PV1-3 `ward^^bed`, when given, must name the topic's
  ward and bed (each component that is not empty is compared; else `placement`).
- MSH-11 processing id T (training) or D (debugging) refuses the message (`test-data`): only
  P (production), or none, is a patient's.
- Each OBX whose OBX-3 code (first component) is in `MDC` or `MDC_ALSO` is a vital: OBX-2 must
  be NM, OBX-6 the vital's MDC unit code or its UCUM unit compared by meaning (`/min^/min^UCUM`,
  `{beats}/min`; `ingest._ucum`; never converted), the value inside every chart's plausibility
  limits (a monitor's -100 or -999 is no reading), OBX-8 without `DEMO` (a monitor in demo
  mode), OBX-11 F, C, R, P or empty. An OBX that fails is refused on its own and listed in
  `Observation.ignored` (`refused:unit:147842: ...`), the others are read; the message is
  refused only when nothing in it can be scored. OBX with status X, D or W are left out and
  listed (`status:X:150456`); so are unmapped codes (`mdc:150023`, mean BP). A correction (C)
  is read and marked (`Observation.corrected`): the scorer has it replace the value it corrects.
- A vital given twice: its `MDC` code wins over an `MDC_ALSO` one, and earlier codes of
  `MDC_ALSO` over later ones (ECG heart rate over the oximeter's pulse rate; the other is
  listed as `superseded:mdc:149530`); among one code's readings the latest OBX-14 is read and
  the earlier ones listed (`earlier:...`: a series); the same code twice at one time with
  different values refuses that vital (`refused:invalid:...`).
- Identifiers (MSH-10, PID-3, PV1-3) are unescaped: the delimiter escapes `\\F\\ \\S\\ \\T\\ \\R\\
  \\E\\` and hex `\\Xhh..\\` (UTF-8). Formatting escapes (`\\.br\\`, ...) have no place in an
  identifier and are refused. python-hl7's own `unescape` is not used: it logs through the
  deprecated `Logger.warn` and raises on some malformed sequences.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec

from ingest import _er7
from ingest._codes import MDC, MDC_ALSO, UCUM, Mdc
from ingest._device import (
    Reading,
    choose,
    corrected,
    fresh,
    implausible,
    not_ahead,
    nothing_to_score,
    refused,
)
from ingest._model import Observation
from ingest._native import Refusal, check_msg_id
from ingest._ucum import same_unit
from scoring import ObservationSet, Vitals

_BY_MDC: Final[dict[str, tuple[str, Mdc, int]]] = {
    **{mdc.code: (key, mdc, n) for key, also in MDC_ALSO.items() for n, mdc in enumerate(also, 1)},
    **{mdc.code: (key, mdc, 0) for key, mdc in MDC.items()},
}
"""OBX-3 code → (vital, metric, rank): rank 0 for the vital's own code, then 1, 2, ... for the
alternatives in the order of `MDC_ALSO`."""
_TEST_PROCESSING: Final = {"T": "training", "D": "debugging"}
"""MSH-11 processing ids of messages that are not a patient's (HL7 table 0103)."""
_READ: Final = frozenset(["F", "C", "R", "P", ""])
"""OBX-11 statuses read: final, corrected, not verified, preliminary, and none (monitors such as
Mindray's and the XH80X send no OBX-11 at all; nothing in an empty status says the value is
withdrawn, which X, D and W do)."""
_LEFT_OUT: Final = frozenset("XDW")
_DTM: Final = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,6})\d*)?)?(?:([+-])(\d{2})(\d{2}))?"
)
"""HL7 DTM to the minute at least: `YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]`."""
_WORDS: Final = re.compile(r"[^A-Z0-9]+")
"""What separates the flags of OBX-8, whatever the message's delimiters."""
_NM: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
"""HL7 NM: an optional sign, digits and an optional decimal point; no exponent."""


class _Segment(Protocol):
    """A segment as read here: `ingest._er7.Segment`, or python-hl7's through `_Tree`."""

    @property
    def name(self) -> str: ...

    def __len__(self) -> int: ...

    def text(self, index: int) -> str: ...

    def leaf(self, index: int, repetition: int = 0, component: int = 0) -> str: ...


class _Message(Protocol):
    @property
    def segments(self) -> Sequence[_Segment]: ...

    @property
    def separators(self) -> str: ...

    @property
    def esc(self) -> str: ...


def parse_hl7(
    payload: bytes,
    ward: str,
    bed: str,
    tz: ZoneInfo,
    *,
    freshness: Mapping[str, float] | None = None,
    not_after: datetime | None = None,
) -> Observation:
    """An ORU^R01 (IHE PCD-01) as one observation set.

    Time: each vital's OBX-14, else OBR-7, else MSH-7; when they differ the latest is used (the
    set is complete only from then). A time without an offset is read in `tz`, the hospital's
    time zone; in the autumn hour that happens twice the first (summer time) reading is taken.
    A reading older than the set's time by more than its vital's `freshness` (seconds;
    `ingest.DEFAULT_FRESHNESS` unless given) is not read (`stale:` in `ignored`). A reading dated after `not_after` (when given) is
    refused alone (`time`).

    Raises:
        Refusal: `not-utf8`, `not-hl7`, `invalid`, `unit`, `implausible`, `test-data`,
            `placement` or `no-vitals`.
    """
    return _parse_hl7(_message(payload), ward, bed, tz, freshness=freshness, not_after=not_after)


def _parse_hl7_python_hl7(
    payload: bytes,
    ward: str,
    bed: str,
    tz: ZoneInfo,
    *,
    freshness: Mapping[str, float] | None = None,
    not_after: datetime | None = None,
) -> Observation:
    """`parse_hl7` on python-hl7's tree alone: the reference the fast path is tested (and
    benchmarked) against."""
    message = _message(payload, fast=False)
    return _parse_hl7(message, ward, bed, tz, freshness=freshness, not_after=not_after)


def _parse_hl7(
    message: _Message,
    ward: str,
    bed: str,
    tz: ZoneInfo,
    *,
    freshness: Mapping[str, float] | None,
    not_after: datetime | None,
) -> Observation:
    segments: dict[str, list[_Segment]] = {}
    for segment in message.segments:
        segments.setdefault(segment.name, []).append(segment)
    msh = segments["MSH"][0]
    text = _Unescaper(message)
    kind = (msh.leaf(9, 0, 0), msh.leaf(9, 0, 1))
    if kind != ("ORU", "R01"):
        given = "^".join(kind).strip("^")
        msg = f"HL7: MSH-9 message type is {given!r}; expected ORU^R01 (IHE PCD-01)"
        try:
            msg_id = text(msh.leaf(10), "MSH-10", None) or None
        except Refusal:
            msg_id = None
        raise Refusal("not-hl7", msg, msg_id)
    msg_id = text(msh.leaf(10), "MSH-10", None)
    if not msg_id:
        raise Refusal("invalid", "HL7: MSH-10 message control id is empty; it is the msg_id")
    check_msg_id(msg_id, "HL7: MSH-10 message control id (the msg_id)")
    if (processing := msh.leaf(11, 0, 0)) in _TEST_PROCESSING:
        msg = (
            f"HL7: MSH-11 processing id is {processing!r} ({_TEST_PROCESSING[processing]}): "
            "not a patient's readings; only P (production) messages are scored"
        )
        raise Refusal("test-data", msg, msg_id)
    pids = segments.get("PID", [])
    patient = text(pids[0].leaf(3, 0, 0), "PID-3", msg_id) if pids else ""
    if not patient.strip():
        msg = "HL7: PID-3 patient identifier is missing; expected the patient's id"
        raise Refusal("invalid", msg, msg_id)
    # ORU^R01 may repeat its PATIENT_RESULT group: every OBX would be read as the first
    # patient's, so a message naming another patient (or none) in a later PID is refused.
    for pid in pids[1:]:
        other = text(pid.leaf(3, 0, 0), "PID-3", msg_id)
        if other != patient:
            msg = (
                f"HL7: PID-3 names patient {patient!r} and then {other!r}: one message, one "
                "patient (its OBX values could be another's)"
            )
            raise Refusal("placement", msg, msg_id)
    for pv1 in segments.get("PV1", []):
        for name, (n, expected) in {"ward": (0, ward), "bed": (2, bed)}.items():
            given = text(pv1.leaf(3, 0, n), f"PV1-3.{n + 1}", msg_id)
            if given and given != expected:
                msg = (
                    f"HL7: PV1-3.{n + 1} {name} {given!r} contradicts the topic's "
                    f"{name} {expected!r}"
                )
                raise Refusal("placement", msg, msg_id)
    obrs = segments.get("OBR")
    if obrs and (obr_time := obrs[0].leaf(7)):
        default_time = (obr_time, "OBR-7")
    else:
        default_time = (msh.leaf(7), "MSH-7")
    readings: list[Reading] = []
    refusals: list[Refusal] = []
    ignored: list[str] = []
    esc = message.esc
    for n, obx in enumerate(segments.get("OBX", []), start=1):
        where = f"OBX #{n}"
        code = raw_code = obx.leaf(3)
        if esc in code:
            code = text(code, f"{where} OBX-3", msg_id)
        status = obx.leaf(11)
        if status in _LEFT_OUT:
            ignored.append(f"status:{status}:{code}")
            continue
        if (mapped := _BY_MDC.get(code)) is None:
            ignored.append(f"{obx.leaf(3, 0, 2).lower() or 'mdc'}:{code}")
            continue
        try:
            reading = _reading(
                obx,
                where,
                mapped,
                raw_code,
                status,
                default_time=default_time,
                tz=tz,
                msg_id=msg_id,
            )
        except Refusal as refusal:
            refusals.append(refusal)
            ignored.append(refused(refusal, code))
            continue
        readings.append(reading)
    readings, ahead, more_ignored = not_ahead(readings, not_after, msg_id)
    refusals.extend(ahead)
    ignored.extend(more_ignored)
    chosen, more, conflicts = choose(readings)
    ignored.extend(more)
    refusals.extend(Refusal("invalid", f"HL7: {why}", msg_id) for why in conflicts)
    chosen, stale = fresh(chosen, freshness)
    ignored.extend(stale)
    if not chosen:
        expected = f"expected an OBX with OBX-3 one of {', '.join(sorted(_BY_MDC))}"
        raise nothing_to_score("HL7", refusals, ignored, expected, msg_id)
    obs = ObservationSet(
        msg_id=msg_id,
        patient_id=patient,
        time=max(reading.time for reading in chosen.values()),
        vitals=msgspec.structs.replace(
            Vitals(), **{key: reading.value for key, reading in chosen.items()}
        ),
        source="monitor",
    )
    return Observation(
        ward=ward,
        bed=bed,
        channel="hl7v2",
        obs=obs,
        ignored=tuple(ignored),
        corrected=corrected(chosen),
    )


def _reading(
    obx: _Segment,
    where: str,
    mapped: tuple[str, Mdc, int],
    code: str,
    status: str,
    *,
    default_time: tuple[str, str],
    tz: ZoneInfo,
    msg_id: str,
) -> Reading:
    """The OBX's reading of its vital (OBX-3 `code` as written, OBX-11 `status`), checked.

    Raises:
        Refusal: `invalid` (status, value type, value, time), `test-data` (OBX-8 DEMO),
            `unit` or `implausible`.
    """
    key, mdc, rank = mapped
    flags = obx.text(8).upper()  # every repetition and component
    if "DEMO" in flags and "DEMO" in _WORDS.split(flags):
        shown = obx.leaf(5)
        msg = (
            f"{_what(where, key, mdc)}: OBX-8 flags the value {shown!r} DEMO: the monitor is in demo mode, "
            "not reading a patient"
        )
        raise Refusal("test-data", msg, msg_id)
    if status not in _READ:
        msg = (
            f"{_what(where, key, mdc)}: OBX-11 result status is {status!r}; expected F, C, R, P or none "
            "(X, D and W are left out)"
        )
        raise Refusal("invalid", msg, msg_id)
    if (value_type := obx.leaf(2)) != "NM":
        msg = f"{_what(where, key, mdc)}: OBX-2 value type is {value_type!r}; expected NM (numeric)"
        raise Refusal("invalid", msg, msg_id)
    raw = obx.leaf(5)
    if not _NM.fullmatch(raw):
        msg = f"{_what(where, key, mdc)}: OBX-5 value {raw!r} is not an HL7 number (NM)"
        raise Refusal("invalid", msg, msg_id)
    unit = obx.leaf(6)
    ucum = UCUM[key].code
    if unit != mdc.unit_code and not (
        obx.leaf(6, 0, 2).upper() in ("UCUM", "") and same_unit(unit, ucum)
    ):
        msg = (
            f"{_what(where, key, mdc)}: OBX-6 unit is {unit!r}; expected {mdc.unit_code} {mdc.unit_ref_id} "
            f"or UCUM {ucum!r} (units are never converted)"
        )
        raise Refusal("unit", msg, msg_id)
    value = float(raw)
    if why := implausible(key, value):
        raise Refusal("implausible", f"{_what(where, key, mdc)}: {why}", msg_id)
    if dtm := obx.leaf(14):
        when = _read_time(dtm, tz) or _time(dtm, f"{where} OBX-14", tz, msg_id)
    else:
        dtm, field = default_time
        when = _read_time(dtm, tz) or _time(dtm, field, tz, msg_id)
    return Reading(key, value, when, f"mdc:{code}", rank, where, correction=status == "C")


def _what(where: str, key: str, mdc: Mdc) -> str:
    """What a refused OBX is, for its reason."""
    return f"HL7 {where} ({key}, {mdc.ref_id})"


def _message(payload: bytes, *, fast: bool = True) -> _Message:
    """The parsed message: UTF-8, unframed, segments ended by `\\r`, blank lines dropped; by
    `ingest._er7` when `fast` and it can, else by python-hl7."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = (
            f"the payload is not UTF-8 text: byte 0x{payload[exc.start]:02x} at offset "
            f"{exc.start} is not valid UTF-8; send ASCII or UTF-8 ER7"
        )
        raise Refusal("not-utf8", msg) from None
    text = text.strip()
    if text.startswith("\x0b"):
        text = text[1:]
    text = text.removesuffix("\x1c").strip()
    lines = [
        line for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if line.strip()
    ]
    text = "\r".join(lines)
    if not text.startswith("MSH") or len(text) < 8:
        msg = "HL7: the payload does not start with an MSH segment; expected an ER7 ORU^R01"
        raise Refusal("not-hl7", msg)
    if fast and (read := _er7.read(lines)) is not None:
        return read
    try:
        message = hl7.parse(text)
    except Exception as exc:  # python-hl7 raises assorted errors on junk
        msg = f"HL7: the message cannot be read as ER7 ({type(exc).__name__}: {exc})"
        raise Refusal("not-hl7", msg) from None
    return _TreeMessage([_Tree(segment) for segment in message], message.separators, message.esc)


@dataclass(frozen=True, slots=True)
class _TreeMessage:
    """python-hl7's message, read like an `ingest._er7.Er7`."""

    segments: list[_Tree]
    separators: str
    esc: str


class _Tree:
    """A segment of python-hl7's tree, read like an `ingest._er7.Segment`."""

    __slots__ = ("name", "node")

    def __init__(self, node: Any) -> None:
        self.node = node
        self.name = _leaf(node, 0)

    def __len__(self) -> int:
        return len(self.node)

    def text(self, index: int) -> str:
        return str(self.node[index]) if len(self.node) > index else ""

    def leaf(self, index: int, repetition: int = 0, component: int = 0) -> str:
        return _leaf(self.node, index, repetition, component)


def _leaf(node: Any, *path: int) -> str:
    """The text at a 0-based path (field, repetition, component, ...) of python-hl7's tree.

    python-hl7 makes a level only where its separator occurs, so the tree is ragged: a path
    deeper than the tree reads the leaf when every extra index is 0, else "" (absent).
    """
    for index in path:
        if node is None:
            return ""
        if isinstance(node, str):
            if index:
                return ""
            continue
        if index >= len(node):
            return ""
        node = node[index]
    while node is not None and not isinstance(node, str):
        node = node[0] if len(node) else ""
    return node or ""


class _Unescaper:
    """HL7 escape sequences in an identifier, by the message's own delimiters (MSH-1, MSH-2)."""

    def __init__(self, message: _Message) -> None:
        separators = message.separators  # segment, field, repetition, component, sub
        self.esc: str = message.esc
        self.table = {
            "F": separators[1],
            "R": separators[2],
            "S": separators[3],
            "T": separators[4],
            "E": self.esc,
        }

    def __call__(self, text: str, field: str, msg_id: str | None) -> str:
        """The text with its escapes replaced; `invalid` naming the field if one is unknown."""
        if self.esc not in text:
            return text
        parts = text.split(self.esc)
        if len(parts) % 2 == 0:
            msg = f"HL7: {field} {text!r} has an unterminated escape sequence"
            raise Refusal("invalid", msg, msg_id)
        out: list[str] = []
        for n, part in enumerate(parts):
            if n % 2 == 0:
                out.append(part)
            elif part in self.table:
                out.append(self.table[part])
            elif part[:1] == "X" and len(part) > 1:
                try:
                    out.append(bytes.fromhex(part[1:]).decode("utf-8"))
                except ValueError:
                    msg = f"HL7: {field} {text!r}: {part!r} is not hex-encoded UTF-8"
                    raise Refusal("invalid", msg, msg_id) from None
            else:
                msg = (
                    f"HL7: {field} {text!r}: the escape sequence {self.esc}{part}{self.esc} "
                    "has no place in an identifier"
                )
                raise Refusal("invalid", msg, msg_id)
        return "".join(out)


@functools.lru_cache(maxsize=256)
def _read_time(text: str, tz: ZoneInfo) -> datetime | None:
    """`_time`, remembered: a message's OBX mostly share one time, and a monitor's next message
    its OBR-7. None when `_time` would refuse it (it then says why)."""
    try:
        return _time(text, "", tz, "")
    except Refusal:
        return None


def _time(text: str, field: str, tz: ZoneInfo, msg_id: str) -> datetime:
    """An HL7 DTM to the minute or finer; without an offset, in the hospital's time zone."""
    match = _DTM.fullmatch(text)
    if match is None:
        msg = (
            f"HL7: {field} time {text!r} is not YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ] "
            "(to the minute at least)"
        )
        raise Refusal("invalid", msg, msg_id)
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        zone: timezone | ZoneInfo = tz
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if int(off_m) >= 60:
                raise ValueError("offset minutes must be below 60")
            zone = timezone(-offset if sign == "-" else offset)
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:
        msg = f"HL7: {field} time {text!r} is not a valid date and time ({exc})"
        raise Refusal("invalid", msg, msg_id) from None
