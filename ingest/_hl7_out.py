"""Scores and alert events as HL7 v2 ER7 text, for the patient record and alert managers:
pure, no I/O, no clock (the same input always gives the same message, control id and all, so
a resend after a lost ACK is recognisable as the same message).

- `score_oru(result)`: a score result (CONTRACT §4) as an HL7 v2.5 `ORU^R01`: MSH, PID, PV1
  (`ward^^bed`), OBR (the score), an OBX for the total with SEND's reference range (OBX-7)
  and abnormal flag (OBX-8: `N`, `HIGH`, `EXTHIGH`; `ingest.send_flag`), an OBX with the risk,
  then an OBX per sub-score (SNOMED CT where `ingest._fhir_out` has a code, with our local key
  as the alternate identifier, coding system `L`); an incomplete score has OBR-25 and OBX-11
  `P` (preliminary) and an NTE naming what is missing.
- `alert_r40(event)`: an alert event (CONTRACT §5) as the IHE PCD Alarm Communication
  Management (ACM) `Report Alert` transaction [PCD-04], `ORU^R40^ORU_R40` (HL7 v2.6): OBR-4
  `196616^MDC_EVT_ALARM^MDC`, OBR-3 the alert id; OBX for the alert (OBX-5 our kind and
  message, OBX-8 `A~priority~type`), the event phase (68481), the alarm state (68482), the
  inactivation state (68483), the priority (68484, `PH`/`PM`/`PL`) and the alert type (68485,
  `SP` physiological, `ST` technical). Mapping in `ACM_PHASE`, `ACM_STATE`, `acm_priority`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ingest._fhir_out import (
    SUB_SCORES,
    TOTALS,
    corrected_score,
    reference_range,
    score_key,
    send_flag,
)

CR: Final = "\r"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
"""Characters written as `\\Xhh\\` (C0 controls and DEL)."""
ACM_PROFILE: Final = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.4^ISO"
"""MSH-21 of a Report Alert [PCD-04]."""

ACM_PHASE: Final[Mapping[str, str]] = {
    "raised": "start",
    "acknowledged": "update",
    "escalated": "escalate",
    "resolved": "end",
}
"""68481 MDC_ATTR_EVENT_PHASE by the alert's `state`; a raised alert's later events (an
upgrade, a note, a re-notification) are `update`."""
ACM_STATE: Final[Mapping[str, tuple[str, str]]] = {
    "raised": ("active", "enabled"),
    "escalated": ("active", "enabled"),
    "acknowledged": ("active", "alert-acknowledged"),
    "resolved": ("inactive", "enabled"),
}
"""(68482 MDC_ATTR_ALARM_STATE, 68483 MDC_ATTR_ALARM_INACTIVATION_STATE) by `state`."""
_HIGH: Final = frozenset({"emergency", "rapid-review", "critical"})
_MEDIUM: Final = frozenset({"urgent", "urgent-ward", "aki-3"})
_TECHNICAL: Final = frozenset({"feed"})


@dataclass(frozen=True, slots=True)
class Hl7Parties:
    """MSH-3 to MSH-6 and PID-3's assigning authority, from the `[outbound]` settings."""

    sending_application: str = "WARD-SURVEILLANCE"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    assigning_authority: str = ""
    identifier_type: str = "MR"


def escape(text: object) -> str:
    """ER7 text with its delimiters escaped (`\\E\\ \\F\\ \\S\\ \\R\\ \\T\\`) and every control
    character as `\\Xhh\\` (line breaks `\\X0D\\` / `\\X0A\\`; MLLP's `\\x0b` and `\\x1c`
    too: a bed `12\\x1c` at the end of PV1 would otherwise end the MLLP frame there), so no
    value can end a field, a segment, the message or its frame."""
    escaped = (
        str(text)
        .replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("~", "\\R\\")
        .replace("&", "\\T\\")
    )
    if escaped.isprintable():  # the usual case, at C speed: no control character in it
        return escaped
    return _CONTROL.sub(lambda m: f"\\X{ord(m.group()):02X}\\", escaped)


def hl7_time(value: object) -> str:
    """An RFC 3339 time (or datetime) as an HL7 TS with its offset: `YYYYMMDDHHMMSS+ZZZZ`;
    "" when it cannot be read (the field is then left empty, never invented)."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return f"{moment.year:04d}{moment.strftime('%m%d%H%M%S')}"
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{moment.year:04d}{moment.strftime('%m%d%H%M%S')}{sign}{minutes // 60:02d}{minutes % 60:02d}"


def control_id(*parts: object) -> str:
    """A 20-character message control id (MSH-10, ST 20 in v2.5) stable for `parts`."""
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _msh(parties: Hl7Parties, when: str, kind: str, ctrl: str, *, version: str, extra: str) -> str:
    return (
        f"MSH|^~\\&|{escape(parties.sending_application)}|{escape(parties.sending_facility)}|"
        f"{escape(parties.receiving_application)}|{escape(parties.receiving_facility)}|{when}||"
        f"{kind}|{ctrl}|P|{version}|||AL|NE||UNICODE UTF-8{extra}"
    )


def _pid_pv1(parties: Hl7Parties, patient: object, ward: object, bed: object) -> list[str]:
    authority = escape(parties.assigning_authority)
    pid = f"PID|1||{escape(patient)}^^^{authority}^{escape(parties.identifier_type)}"
    segments = [pid.rstrip("^")]
    if ward or bed:
        segments.append(f"PV1|1|I|{escape(ward or '')}^^{escape(bed or '')}")
    return segments


def _code(system: str, key: str, scale: object) -> str:
    """OBX-3 of a sub-score: SNOMED CT when known, our key as the alternate (`L`)."""
    lookup = f"spo2:{scale or 1}" if system == "NEWS2" and key == "spo2" else key
    local = f"{escape(key)}^{escape(f'{system} {key} score')}^L"
    found = SUB_SCORES.get((system, lookup))
    if found is None:
        return local
    return f"{found[0]}^{escape(found[1])}^SCT^{local}"


def score_oru(result: Mapping[str, Any], parties: Hl7Parties | None = None) -> str:
    """The HL7 v2.5 `ORU^R01` of a score result (see the module); segments end with `\\r`.
    MSH-7 is the score's time (no clock: a resend is the same message), MSH-10
    `control_id(score_key)`."""
    parties = parties or Hl7Parties()
    system = str(result.get("system") or "")
    when = hl7_time(result.get("time"))
    key = score_key(result)
    complete = bool(result.get("complete", True))
    # A correction: OBR-3 names the order of the score it corrects, and OBR-25 and OBX-11 say
    # `C` ("a correction, and thus replaces a final result"); MSH-10 is its own.
    corrected = corrected_score(result)
    order = key if corrected is None else score_key(corrected)
    status = ("F" if corrected is None else "C") if complete else "P"
    total = TOTALS.get(system)
    if total is not None:
        total_code = f"{total[0]}^{escape(total[1])}^SCT^{escape(system)}^^L"
    else:
        total_code = f"{escape(system)}^{escape(f'{system} total score')}^L"
    obr = (
        f"OBR|1||{order}^{escape(parties.sending_application)}|{total_code}|||{when}"
        + "|" * 15
        + f"{when}|||{status}"
    )
    segments = [
        _msh(parties, when, "ORU^R01^ORU_R01", control_id(key), version="2.5", extra=""),
        *_pid_pv1(parties, result.get("patient_id"), result.get("ward"), result.get("bed")),
        obr,
    ]
    if not complete:
        missing = ", ".join(str(m) for m in result.get("missing") or []) or "parameters"
        segments.append(
            f"NTE|1||{escape(f'Incomplete {system} score: {missing} missing; the total counts only the parameters present.')}"
        )
    obx = [
        f"NM|{total_code}||{int(result.get('total') or 0)}||{reference_range(result)}|"
        f"{send_flag(result)}|||{status}|||{when}",
        f"ST|risk^Risk^L||{escape(result.get('risk') or '')}||||||{status}|||{when}",
        f"ST|chart^Chart^L||{escape(result.get('chart') or '')}||||||{status}|||{when}",
    ]
    scale = result.get("spo2_scale")
    for name, points in (result.get("parameters") or {}).items():
        value = "" if isinstance(points, bool) or not isinstance(points, int) else points
        obx.append(f"NM|{_code(system, str(name), scale)}||{value}||||||{status}|||{when}")
    for name in result.get("missing") or []:
        obx.append(f"NM|{_code(system, str(name), scale)}||||||||X|||{when}")
    segments += [f"OBX|{n}|{body}" for n, body in enumerate(obx, 1)]
    return CR.join(segments) + CR


def acm_priority(severity: object) -> str:
    """68484 MDC_ATTR_ALARM_PRIORITY of an alert severity: `PH` (emergency, PEWS rapid review),
    `PM` (urgent, urgent-ward, AKI stage 3), else `PL`."""
    text = str(severity or "")
    level = text.rsplit("/", 1)[-1]
    if level in _HIGH:
        return "PH"
    if level in _MEDIUM:
        return "PM"
    return "PL"


def alert_r40(event: Mapping[str, Any], parties: Hl7Parties | None = None) -> str:
    """The IHE PCD-04 Report Alert (`ORU^R40`, HL7 v2.6) of an alert event (see the module).
    MSH-7 is the event's time, MSH-10 `control_id(alert_id, seq, state)`."""
    parties = parties or Hl7Parties()
    alert_id = str(event.get("alert_id") or "")
    state = str(event.get("state") or "")
    seq = event.get("seq", "")
    when = hl7_time(event.get("time"))
    raised = hl7_time(event.get("raised_at") or event.get("time"))
    phase = ACM_PHASE.get(state, "update")
    if state == "raised" and isinstance(seq, int) and seq > 1:
        phase = "update"
    alarm_state, inactivation = ACM_STATE.get(state, ("active", "enabled"))
    priority = acm_priority(event.get("severity"))
    kind = str(event.get("kind") or "")
    kind_type = "ST" if kind in _TECHNICAL else "SP"
    ctrl = control_id(alert_id, seq, state, event.get("time"))
    segments = [
        _msh(parties, when, "ORU^R40^ORU_R40", ctrl, version="2.6", extra=f"|||{ACM_PROFILE}"),
        *_pid_pv1(parties, event.get("patient_id"), event.get("ward"), event.get("bed")),
        f"OBR|1||{escape(alert_id)}^{escape(parties.sending_application)}|"
        f"196616^MDC_EVT_ALARM^MDC|||{raised}",
    ]
    message = escape(event.get("message") or "")
    obx = [
        f"CWE|196616^MDC_EVT_ALARM^MDC|1.0.0.0.1|{escape(kind)}^{message}^L|||A~{priority}~"
        f"{kind_type}|||F|||{when}",
        f"ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.0.0.0.3|{phase}||||||F",
        f"ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.0.0.0.4|{alarm_state}||||||F",
        f"ST|68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC|1.0.0.0.5|{inactivation}||||||F",
        f"ST|68484^MDC_ATTR_ALARM_PRIORITY^MDC|1.0.0.0.6|{priority}||||||F",
        f"ST|68485^MDC_ATTR_ALERT_TYPE^MDC|1.0.0.0.7|{kind_type}||||||F",
        f"ST|severity^Severity^L|1.0.0.0.8|{escape(event.get('severity') or '')}||||||F",
    ]
    notify = event.get("notify")
    if notify:
        obx.append(f"ST|notify^Notify^L|1.0.0.0.9|{escape(notify)}||||||F")
    segments += [f"OBX|{n}|{body}" for n, body in enumerate(obx, 1)]
    return CR.join(segments) + CR
