"""HL7 v2 ORU^R01 on `hl7v2`, as an IHE PCD-01 device observation reporter sends it.

Parsed with python-hl7; codes and units come from the code tables (`ingest._codes.MDC`,
`MDC_ALSO`), which the simulated monitors send with too, so the two can never drift apart.

What is read, and what is refused:

- MLLP framing (0x0b ... 0x1c 0x0d) is stripped; segments may end in `\\r`, `\\n` or `\\r\\n`.
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
  is read as a new reading (README: it does not replace the stored one).
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

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec

from ingest._codes import MDC, MDC_ALSO, UCUM, Mdc
from ingest._device import (
    Reading,
    choose,
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
    message = _message(payload)
    segments: dict[str, list[Any]] = {}
    for segment in message:
        segments.setdefault(_leaf(segment, 0), []).append(segment)
    msh = segments["MSH"][0]
    text = _Unescaper(message)
    kind = (_leaf(msh, 9, 0, 0), _leaf(msh, 9, 0, 1))
    if kind != ("ORU", "R01"):
        given = "^".join(kind).strip("^")
        msg = f"HL7: MSH-9 message type is {given!r}; expected ORU^R01 (IHE PCD-01)"
        try:
            msg_id = text(_leaf(msh, 10), "MSH-10", None) or None
        except Refusal:
            msg_id = None
        raise Refusal("not-hl7", msg, msg_id)
    msg_id = text(_leaf(msh, 10), "MSH-10", None)
    if not msg_id:
        raise Refusal("invalid", "HL7: MSH-10 message control id is empty; it is the msg_id")
    check_msg_id(msg_id, "HL7: MSH-10 message control id (the msg_id)")
    if (processing := _leaf(msh, 11, 0, 0)) in _TEST_PROCESSING:
        msg = (
            f"HL7: MSH-11 processing id is {processing!r} ({_TEST_PROCESSING[processing]}): "
            "not a patient's readings; only P (production) messages are scored"
        )
        raise Refusal("test-data", msg, msg_id)
    pids = segments.get("PID", [None])
    patient = text(_leaf(pids[0], 3, 0, 0), "PID-3", msg_id) if pids[0] is not None else ""
    if not patient.strip():
        msg = "HL7: PID-3 patient identifier is missing; expected the patient's id"
        raise Refusal("invalid", msg, msg_id)
    # ORU^R01 may repeat its PATIENT_RESULT group: every OBX would be read as the first
    # patient's, so a message naming another patient (or none) in a later PID is refused.
    for pid in pids[1:]:
        other = text(_leaf(pid, 3, 0, 0), "PID-3", msg_id)
        if other != patient:
            msg = (
                f"HL7: PID-3 names patient {patient!r} and then {other!r}: one message, one "
                "patient (its OBX values could be another's)"
            )
            raise Refusal("placement", msg, msg_id)
    for pv1 in segments.get("PV1", []):
        for name, (n, expected) in {"ward": (0, ward), "bed": (2, bed)}.items():
            given = text(_leaf(pv1, 3, 0, n), f"PV1-3.{n + 1}", msg_id)
            if given and given != expected:
                msg = (
                    f"HL7: PV1-3.{n + 1} {name} {given!r} contradicts the topic's "
                    f"{name} {expected!r}"
                )
                raise Refusal("placement", msg, msg_id)
    default_time = next(
        (
            (t, field)
            for t, field in (
                (_leaf(segments.get("OBR", [None])[0], 7), "OBR-7"),
                (_leaf(msh, 7), "MSH-7"),
            )
            if t
        ),
        ("", "MSH-7"),
    )
    readings: list[Reading] = []
    refusals: list[Refusal] = []
    ignored: list[str] = []
    for n, obx in enumerate(segments.get("OBX", []), start=1):
        where = f"OBX #{n}"
        code = text(_leaf(obx, 3, 0, 0), f"{where} OBX-3", msg_id)
        system = _leaf(obx, 3, 0, 2).lower() or "mdc"
        status = _leaf(obx, 11)
        if status in _LEFT_OUT:
            ignored.append(f"status:{status}:{code}")
            continue
        if (mapped := _BY_MDC.get(code)) is None:
            ignored.append(f"{system}:{code}")
            continue
        try:
            reading = _reading(obx, where, mapped, default_time=default_time, tz=tz, msg_id=msg_id)
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
    return Observation(ward=ward, bed=bed, channel="hl7v2", obs=obs, ignored=tuple(ignored))


def _reading(
    obx: Any,
    where: str,
    mapped: tuple[str, Mdc, int],
    *,
    default_time: tuple[str, str],
    tz: ZoneInfo,
    msg_id: str,
) -> Reading:
    """The OBX's reading of its vital, checked.

    Raises:
        Refusal: `invalid` (status, value type, value, time), `test-data` (OBX-8 DEMO),
            `unit` or `implausible`.
    """
    key, mdc, rank = mapped
    what = f"HL7 {where} ({key}, {mdc.ref_id})"
    flags = str(obx[8]).upper() if len(obx) > 8 else ""  # every repetition and component
    if "DEMO" in _WORDS.split(flags):
        shown = _leaf(obx, 5, 0, 0)
        msg = (
            f"{what}: OBX-8 flags the value {shown!r} DEMO: the monitor is in demo mode, "
            "not reading a patient"
        )
        raise Refusal("test-data", msg, msg_id)
    if (status := _leaf(obx, 11)) not in _READ:
        msg = (
            f"{what}: OBX-11 result status is {status!r}; expected F, C, R, P or none "
            "(X, D and W are left out)"
        )
        raise Refusal("invalid", msg, msg_id)
    if (value_type := _leaf(obx, 2)) != "NM":
        msg = f"{what}: OBX-2 value type is {value_type!r}; expected NM (numeric)"
        raise Refusal("invalid", msg, msg_id)
    raw = _leaf(obx, 5, 0, 0)
    if not _NM.fullmatch(raw):
        msg = f"{what}: OBX-5 value {raw!r} is not an HL7 number (NM)"
        raise Refusal("invalid", msg, msg_id)
    unit, unit_system = _leaf(obx, 6, 0, 0), _leaf(obx, 6, 0, 2)
    ucum = UCUM[key].code
    as_ucum = unit_system.upper() in ("UCUM", "") and same_unit(unit, ucum)
    if unit != mdc.unit_code and not as_ucum:
        msg = (
            f"{what}: OBX-6 unit is {unit!r}; expected {mdc.unit_code} {mdc.unit_ref_id} "
            f"or UCUM {ucum!r} (units are never converted)"
        )
        raise Refusal("unit", msg, msg_id)
    value = float(raw)
    if why := implausible(key, value):
        raise Refusal("implausible", f"{what}: {why}", msg_id)
    dtm, field = (t, f"{where} OBX-14") if (t := _leaf(obx, 14)) else default_time
    when = _time(dtm, field, tz, msg_id)
    code = _leaf(obx, 3, 0, 0)
    return Reading(key, value, when, f"mdc:{code}", rank, where)


def _message(payload: bytes) -> Any:
    """The parsed message: UTF-8, unframed, segments ended by `\\r`, blank lines dropped."""
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
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    text = "\r".join(line for line in lines if line.strip())
    if not text.startswith("MSH") or len(text) < 8:
        msg = "HL7: the payload does not start with an MSH segment; expected an ER7 ORU^R01"
        raise Refusal("not-hl7", msg)
    try:
        return hl7.parse(text)
    except Exception as exc:  # python-hl7 raises assorted errors on junk
        msg = f"HL7: the message cannot be read as ER7 ({type(exc).__name__}: {exc})"
        raise Refusal("not-hl7", msg) from None


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

    def __init__(self, message: Any) -> None:
        separators: str = message.separators  # segment, field, repetition, component, sub
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
