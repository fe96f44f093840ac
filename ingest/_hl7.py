"""HL7 v2 ORU^R01 on `hl7v2`, as an IHE PCD-01 device observation reporter sends it.

Parsed with python-hl7; codes and units come from the code tables (`ingest._codes.MDC`,
`MDC_ALSO`), which the simulated monitors send with too, so the two can never drift apart.

What is read, and what is refused:

- MLLP framing (0x0b ... 0x1c 0x0d) is stripped; segments may end in `\\r`, `\\n` or `\\r\\n`.
- MSH-9 must be ORU^R01 (else `not-hl7`); msg_id is MSH-10 (unescaped, then checked like
  every msg_id: `ingest.msg_id_problem`), the patient PID-3 (first
  repetition, first component); PV1-3 `ward^^bed`, when given, must name the topic's ward and
  bed (each component that is not empty is compared; else `placement`).
- Each OBX whose OBX-3 code (first component) is in `MDC` or `MDC_ALSO` is a vital: OBX-2 must
  be NM, OBX-6 (first component) the vital's MDC unit code (else `unit`: never converted),
  OBX-11 F, C, R or P. OBX with status X, D or W are left out and listed in
  `Observation.ignored` (`status:X:150456`); so are unmapped codes (`mdc:150023`, mean BP).
- A vital given twice: its `MDC` code wins over an `MDC_ALSO` one (ECG heart rate over the
  oximeter's pulse rate; the other is listed as `superseded:mdc:149530`); the same code twice
  with different values is refused (`invalid`).
- Identifiers (MSH-10, PID-3, PV1-3) are unescaped: the delimiter escapes `\\F\\ \\S\\ \\T\\ \\R\\
  \\E\\` and hex `\\Xhh..\\` (UTF-8). Formatting escapes (`\\.br\\`, ...) have no place in an
  identifier and are refused. python-hl7's own `unescape` is not used: it logs through the
  deprecated `Logger.warn` and raises on some malformed sequences.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec

from ingest._codes import MDC, MDC_ALSO, Mdc
from ingest._model import Observation
from ingest._native import Refusal, check_msg_id, shortlist
from scoring import ObservationSet, Vitals

_BY_MDC: Final[dict[str, tuple[str, Mdc, int]]] = {
    **{mdc.code: (key, mdc, 1) for key, also in MDC_ALSO.items() for mdc in also},
    **{mdc.code: (key, mdc, 0) for key, mdc in MDC.items()},
}
"""OBX-3 code → (vital, metric, rank): rank 0 for the vital's own code, 1 for an alternative."""
_READ: Final = frozenset("FCRP")
_LEFT_OUT: Final = frozenset("XDW")
_DTM: Final = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,6})\d*)?)?(?:([+-])(\d{2})(\d{2}))?"
)
"""HL7 DTM to the minute at least: `YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]`."""
_NM: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
"""HL7 NM: an optional sign, digits and an optional decimal point; no exponent."""


def parse_hl7(payload: bytes, ward: str, bed: str, tz: ZoneInfo) -> Observation:
    """An ORU^R01 (IHE PCD-01) as one observation set.

    Time: each vital's OBX-14, else OBR-7, else MSH-7; when they differ the latest is used (the
    set is complete only from then). A time without an offset is read in `tz`, the hospital's
    time zone; in the autumn hour that happens twice the first (summer time) reading is taken.

    Raises:
        Refusal: `not-utf8`, `not-hl7`, `invalid`, `unit`, `placement` or `no-vitals`.
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
    pid = segments.get("PID", [None])[0]
    patient = text(_leaf(pid, 3, 0, 0), "PID-3", msg_id) if pid is not None else ""
    if not patient.strip():
        msg = "HL7: PID-3 patient identifier is missing; expected the patient's id"
        raise Refusal("invalid", msg, msg_id)
    if pv1 := segments.get("PV1"):
        for name, (n, expected) in {"ward": (0, ward), "bed": (2, bed)}.items():
            given = text(_leaf(pv1[0], 3, 0, n), f"PV1-3.{n + 1}", msg_id)
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
    chosen: dict[str, tuple[int, float, str, str, str]] = {}  # key → rank, value, code, DTM, field
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
        key, mdc, rank = mapped
        what = f"HL7 {where} ({key}, {mdc.ref_id})"
        if status not in _READ:
            msg = (
                f"{what}: OBX-11 result status is {status!r}; expected F, C, R or P "
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
        if (unit := _leaf(obx, 6, 0, 0)) != mdc.unit_code:
            msg = (
                f"{what}: OBX-6 unit is {unit!r}; expected {mdc.unit_code} {mdc.unit_ref_id} "
                "(units are never converted)"
            )
            raise Refusal("unit", msg, msg_id)
        value = float(raw)
        when = (t, f"{where} OBX-14") if (t := _leaf(obx, 14)) else default_time
        if key in chosen:
            other_rank, other_value, other_code, _, _ = chosen[key]
            if rank > other_rank:
                ignored.append(f"superseded:mdc:{code}")
                continue
            if rank < other_rank:
                ignored.append(f"superseded:mdc:{other_code}")
            elif value != other_value:
                msg = (
                    f"{what}: {key} is given twice with different values ({other_value:g} and "
                    f"{value:g}); send one"
                )
                raise Refusal("invalid", msg, msg_id)
        chosen[key] = (rank, value, code, *when)
    if not chosen:
        found = f" (found only: {shortlist(ignored)})" if ignored else ""
        codes = ", ".join(sorted(_BY_MDC))
        msg = (
            "HL7: no vital sign this system reads; expected an OBX with OBX-3 one of "
            f"{codes}{found}"
        )
        raise Refusal("no-vitals", msg, msg_id)
    times = [_time(dtm, field, tz, msg_id) for _, _, _, dtm, field in chosen.values()]
    obs = ObservationSet(
        msg_id=msg_id,
        patient_id=patient,
        time=max(times),
        vitals=msgspec.structs.replace(Vitals(), **{key: e[1] for key, e in chosen.items()}),
        source="monitor",
    )
    return Observation(ward=ward, bed=bed, channel="hl7v2", obs=obs, ignored=tuple(ignored))


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
