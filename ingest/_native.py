"""Native JSON on `obs` (CONTRACT §3), `adt` (CONTRACT §2), `event` (CONTRACT §9) and `labs`
(README extension).

Decoded with module-level msgspec decoders straight into the strict contract structs: the fast
path is one decode and no copying. Only when decoding fails is the payload looked at again, to
tell bytes that are not UTF-8 (`not-utf8`) and text that is not JSON (`not-json`) from JSON that
breaks the contract (`invalid`, with msgspec's message, which names the field path).

Also home of `Refusal`, how every channel's parser says no, and of the JSON error triage the
FHIR parser shares.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from ingest._model import (
    EVENT_KINDS,
    Action,
    Admission,
    AlertAction,
    AlertCommand,
    ClinicalEvent,
    EscalationPlan,
    EventReport,
    Lab,
    LabResult,
    Observation,
    PlanUpdate,
    msg_id_problem,
)
from scoring import LONDON, Context, ObservationSet, Vitals


class _Limit(msgspec.Struct, forbid_unknown_fields=True):
    max: float


class _Limits(msgspec.Struct, forbid_unknown_fields=True):
    creatinine: _Limit
    gestation_weeks: _Limit
    postnatal_days: _Limit


_LIMITS: Final = msgspec.convert(
    tomllib.loads((resources.files("scoring") / "rules" / "limits.toml").read_text("utf-8")),
    _Limits,
)
CREATININE_MAX: Final = _LIMITS.creatinine.max
"""µmol/L; a higher creatinine is refused as `implausible` (scoring/rules/limits.toml)."""
GESTATION_WEEKS_MAX: Final = _LIMITS.gestation_weeks.max
"""Weeks; a longer `gestation_weeks` is refused (scoring/rules/limits.toml)."""
POSTNATAL_DAYS_MAX: Final = _LIMITS.postnatal_days.max
"""Days; a longer `postnatal_days` is refused (scoring/rules/limits.toml)."""

VITAL_SIGNS: Final = tuple(key for key in Vitals.__struct_fields__ if key != "suspected_infection")
"""The keys of `vitals` that are vital signs: `suspected_infection` is an answer about the
patient, never scored (a set with nothing else is a set with no vital sign)."""

NO_VITAL_SIGN: Final = frozenset(
    {Vitals(), Vitals(suspected_infection=True), Vitals(suspected_infection=False)}
)
"""Every `vitals` with none of `VITAL_SIGNS`: one hash lookup per message on the fast path."""


class Refusal(Exception):
    """A message that cannot be used: `error` is a key of `ERROR_CODES`.

    Raised inside the parsers and turned into a `Rejected` by `ingest.parse`, which adds the
    topic and the payload.
    """

    def __init__(self, error: str, reason: str, msg_id: str | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.msg_id = msg_id


class _Peek(msgspec.Struct):
    """Just the msg_id of an object, whatever else it holds, to label a refused message."""

    msg_id: Any = None


class _LabUnit(msgspec.Struct):
    """Just the unit of a lab result, to tell a wrong unit from other contract breaches."""

    unit: Any = None


class _AdtKeys(msgspec.Struct):
    """The keys of an ADT payload that `Context` accepts but the ADT channel does not."""

    chart: Any = msgspec.UNSET


_OBS: Final = msgspec.json.Decoder(ObservationSet)
_CONTEXT: Final = msgspec.json.Decoder(Context)
_LAB: Final = msgspec.json.Decoder(LabResult)
_PEEK: Final = msgspec.json.Decoder(_Peek)
_LAB_UNIT: Final = msgspec.json.Decoder(_LabUnit)
_ADT_KEYS: Final = msgspec.json.Decoder(_AdtKeys)
_COMMAND: Final = msgspec.json.Decoder(AlertCommand)
_PLAN: Final = msgspec.json.Decoder(EscalationPlan)
_EVENT: Final = msgspec.json.Decoder(ClinicalEvent)


def peek_msg_id(payload: bytes) -> str | None:
    """The top-level `msg_id` if the payload is a JSON object with a valid msg_id there."""
    try:
        msg_id = _PEEK.decode(payload).msg_id
    except (msgspec.MsgspecError, ValueError):
        return None
    return msg_id if isinstance(msg_id, str) and msg_id_problem(msg_id) is None else None


def check_msg_id(msg_id: str, what: str) -> None:
    """`invalid` unless `msg_id` can identify a message (`msg_id_problem`, every channel).

    The refusal carries no msg_id and its reason does not quote the id: an id that is too long
    or holds control characters is neither repeated nor stored.
    """
    if problem := msg_id_problem(msg_id):
        raise Refusal("invalid", f"{what}: {problem}")


def shortlist(items: list[str], most: int = 10) -> str:
    """Items for a reason, comma-separated: the first `most`, then how many more."""
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"


def text_refusal(payload: bytes) -> Refusal | None:
    """`not-utf8` if the payload is not UTF-8, saying where; None if it is."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refusal(
            "not-utf8",
            f"the payload is not UTF-8 text: byte 0x{payload[exc.start]:02x} at offset "
            f"{exc.start} is not valid UTF-8; send UTF-8 encoded JSON",
        )
    return None


def json_refusal(payload: bytes) -> Refusal | None:
    """`not-utf8` or `not-json` if the payload is not UTF-8 JSON text; None if it is."""
    if refusal := text_refusal(payload):
        return refusal
    try:
        msgspec.json.decode(payload)
    except msgspec.ValidationError:
        return None  # valid JSON syntax (a number out of range, say): the caller's `invalid`
    except (msgspec.DecodeError, ValueError) as exc:
        return Refusal("not-json", f"the payload is not JSON: {exc}")
    return None


def _refusal(payload: bytes, exc: Exception, what: str) -> Refusal:
    """Why a typed decode failed: not UTF-8, not JSON, or JSON that breaks the contract."""
    if refusal := json_refusal(payload):
        return refusal
    return Refusal("invalid", f"{what}: {exc}", peek_msg_id(payload))


def parse_obs(payload: bytes, ward: str, bed: str) -> Observation:
    """An observation set in native JSON (CONTRACT §3), with at least one vital sign.

    Raises:
        Refusal: `not-utf8`, `not-json`, `invalid` or `no-vitals` (an empty `vitals`, perhaps
            with `not_recorded`, or only `suspected_infection`: never scored as 0).
    """
    try:
        obs = _OBS.decode(payload)
    except (msgspec.MsgspecError, ValueError) as exc:
        raise _refusal(payload, exc, "observation set (CONTRACT §3)") from None
    check_msg_id(obs.msg_id, "observation set (CONTRACT §3)")
    if not obs.patient_id.strip():
        msg = "observation set (CONTRACT §3): patient_id is blank; expected the patient's id"
        raise Refusal("invalid", msg, obs.msg_id)
    if obs.vitals in NO_VITAL_SIGN:
        raise Refusal("no-vitals", _no_vitals(obs), obs.msg_id)
    return Observation(ward=ward, bed=bed, channel="obs", obs=obs)


def _no_vitals(obs: ObservationSet) -> str:
    """Why a set with no vital sign is refused, and what it did hold."""
    held = []
    if obs.vitals.suspected_infection is not None:
        held.append("only suspected_infection, which is not a vital sign")
    if obs.not_recorded:
        held.append(f"not_recorded for {', '.join(sorted(obs.not_recorded))}")
    what = f"`vitals` holds {' and '.join(held)}" if held else "`vitals` is empty"
    return (
        f"observation set (CONTRACT §3): no vital sign: {what}. A set with no vital sign "
        "cannot be scored (it would show as a score of 0 in place of the last one); send at "
        "least one vital sign"
    )


def parse_alert_action(payload: bytes, ward: str, alert_id: str, action: Action) -> AlertAction:
    """An acknowledgement (`ack`) or resolution (`resolve`, which needs a `reason`).

    Raises:
        Refusal: `not-utf8`, `not-json` or `invalid`.
    """
    what = f"alert {'acknowledgement' if action == 'ack' else 'resolution'}"
    try:
        command = _COMMAND.decode(payload)
    except (msgspec.MsgspecError, ValueError) as exc:
        raise _refusal(payload, exc, what) from None
    check_msg_id(command.msg_id, what)
    if not command.by.strip():
        raise Refusal("invalid", f"{what}: `by` is blank; name who acts", command.msg_id)
    if action == "resolve" and not (command.reason or "").strip():
        msg = f"{what}: `reason` is required to resolve an alert; say why it is closed"
        raise Refusal("invalid", msg, command.msg_id)
    return AlertAction(ward=ward, alert_id=alert_id, action=action, command=command)


def parse_plan(payload: bytes, ward: str, bed: str) -> PlanUpdate:
    """An escalation plan for the patient in the bed.

    Raises:
        Refusal: `not-utf8`, `not-json` or `invalid`.
    """
    try:
        plan = _PLAN.decode(payload)
    except (msgspec.MsgspecError, ValueError) as exc:
        raise _refusal(payload, exc, "escalation plan") from None
    check_msg_id(plan.msg_id, "escalation plan")
    blank = [key for key in ("by", "reason") if not getattr(plan, key).strip()]
    if blank:
        msg = f"escalation plan: {', '.join(blank)} blank; say who agreed it and why"
        raise Refusal("invalid", msg, plan.msg_id)
    return PlanUpdate(ward=ward, bed=bed, plan=plan)


def parse_adt(payload: bytes, ward: str, bed: str, tz: ZoneInfo = LONDON) -> Admission:
    """Patient context (CONTRACT §2), placed in the topic's ward and bed.

    On this channel `msg_id`, `time`, `event` and `patient_id` are required and `cohort` is
    required for `admit` and `transfer`; a child admitted or transferred needs `birth_date`
    or `age_band` (CONTRACT §2: they choose the PEWS age chart). `birth_date` may not be after
    the message's own `time` (its date in `tz`, the hospital's time zone), `gestation_weeks`
    must be from 0 to `GESTATION_WEEKS_MAX` and `postnatal_days` from 0 to
    `POSTNATAL_DAYS_MAX`. `chart` is refused: forcing a chart is for `surveillance score`,
    not for a feed. `ward` and `bed` may be given but must be the topic's.

    Raises:
        Refusal: `not-utf8`, `not-json`, `invalid` or `placement`.
    """
    what = "ADT message (CONTRACT §2)"
    try:
        context = _CONTEXT.decode(payload)
        chart = _ADT_KEYS.decode(payload).chart
    except (msgspec.MsgspecError, ValueError) as exc:
        raise _refusal(payload, exc, what) from None
    if context.msg_id:
        check_msg_id(context.msg_id, what)
    msg_id = context.msg_id or None
    required = ["msg_id", "time", "event", "patient_id"]
    if context.event in ("admit", "transfer"):
        required.append("cohort")
    missing = [key for key in required if _blank(getattr(context, key))]
    if missing:
        fields = ", ".join(f"`{key}`" for key in missing)
        msg = f"{what}: missing or empty: {fields}"
        if "cohort" in missing:
            msg += " (cohort is required for admit and transfer: adult, child or maternity)"
        raise Refusal("invalid", msg, msg_id)
    if chart is not msgspec.UNSET:
        msg = f"{what}: `chart` is not allowed in an ADT message; the cohort chooses the chart"
        raise Refusal("invalid", msg, msg_id)
    for key, expected in (("ward", ward), ("bed", bed)):
        if (given := getattr(context, key)) is not None and given != expected:
            msg = f"{what}: {key} {given!r} contradicts the topic's {key} {expected!r}"
            raise Refusal("placement", msg, msg_id)
    if problems := _context_problems(context, tz):
        raise Refusal("invalid", f"{what}: {'; '.join(problems)}", msg_id)
    placed = msgspec.structs.replace(context, ward=ward, bed=bed)
    return Admission(ward=ward, bed=bed, context=placed)


def _context_problems(context: Context, tz: ZoneInfo) -> list[str]:
    """What makes an ADT message's patient impossible to place on a chart, or impossible."""
    problems = []
    if (
        context.event in ("admit", "transfer")
        and context.cohort == "child"
        and context.birth_date is None
        and context.age_band is None
    ):
        problems.append(
            "a child (cohort child) needs `birth_date` or `age_band` (0-11m, 1-4y, 5-12y, "
            "13+y): they choose the PEWS age chart"
        )
    if context.birth_date is not None and context.time is not None:
        today = context.time.astimezone(tz).date()
        if context.birth_date > today:
            problems.append(
                f"birth_date {context.birth_date} is after the message's own time "
                f"({context.time.isoformat()}, {today} in {tz.key})"
            )
    for key, limit, unit in (
        ("gestation_weeks", GESTATION_WEEKS_MAX, "weeks"),
        ("postnatal_days", POSTNATAL_DAYS_MAX, "days"),
    ):
        value = getattr(context, key)
        if value is not None and not 0 <= value <= limit:
            problems.append(f"{key} {value:g} is impossible: it must be from 0 to {limit:g} {unit}")
    return problems


def _blank(value: object) -> bool:
    """None, or text that is empty or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_lab(payload: bytes, ward: str, bed: str) -> Lab:
    """A lab result (creatinine in µmol/L); a value in any other unit is refused, never converted,
    and one above `CREATININE_MAX` is refused as `implausible`.

    Raises:
        Refusal: `not-utf8`, `not-json`, `invalid`, `unit` or `implausible`.
    """
    try:
        lab = _LAB.decode(payload)
    except (msgspec.MsgspecError, ValueError) as exc:
        refusal = _refusal(payload, exc, "lab result")
        if refusal.error == "invalid":
            try:
                unit = _LAB_UNIT.decode(payload).unit
            except msgspec.ValidationError:  # not an object: the message says so already
                unit = None
            if unit is not None and unit != "umol/L":
                refusal = Refusal(
                    "unit",
                    f"lab result: unit {unit!r} is not the contract's unit 'umol/L' "
                    "(creatinine in µmol/L; units are never converted)",
                    refusal.msg_id,
                )
        raise refusal from None
    check_msg_id(lab.msg_id, "lab result")
    if not lab.patient_id.strip():
        msg = "lab result: patient_id is blank; expected the patient's id"
        raise Refusal("invalid", msg, lab.msg_id)
    if lab.value > CREATININE_MAX:
        msg = (
            f"lab result: creatinine {lab.value:g} umol/L is implausible: it must be at most "
            f"{CREATININE_MAX:g} umol/L (the highest on record is 6,524 umol/L); check the "
            "unit and the value (units are never converted)"
        )
        raise Refusal("implausible", msg, lab.msg_id)
    return Lab(ward=ward, bed=bed, lab=lab)


_EVENT_WHAT: Final = "clinical event (CONTRACT §9)"


def parse_event(payload: bytes, ward: str, bed: str) -> EventReport:
    """A clinical event or harm (CONTRACT §9): one of `EVENT_KINDS`, for a named patient.

    A kind the contract does not (yet) name, a `category` outside 1-4 or on any event but a
    `pressure-ulcer`, a blank `patient_id` or `by`: all `invalid`, with the field named. Whose
    bed it is and whether its time can be used are the scorer's checks, as for observations.

    Raises:
        Refusal: `not-utf8`, `not-json` or `invalid`.
    """
    try:
        event = _EVENT.decode(payload)
    except (msgspec.MsgspecError, ValueError) as exc:
        refusal = _refusal(payload, exc, _EVENT_WHAT)
        if refusal.error == "invalid" and "`$.event`" in refusal.reason:
            known = ", ".join(EVENT_KINDS)
            refusal = Refusal(
                "invalid", f"{refusal.reason}; the events known: {known}", refusal.msg_id
            )
        raise refusal from None
    check_msg_id(event.msg_id, _EVENT_WHAT)
    if not event.patient_id.strip():
        msg = f"{_EVENT_WHAT}: patient_id is blank; expected the patient's id"
        raise Refusal("invalid", msg, event.msg_id)
    if event.by is not None and not event.by.strip():
        msg = f"{_EVENT_WHAT}: `by` is blank; name who recorded it, or leave `by` out"
        raise Refusal("invalid", msg, event.msg_id)
    if event.category is not None and event.event != "pressure-ulcer":
        msg = (
            f"{_EVENT_WHAT}: `category` (1-4) belongs to a pressure-ulcer only, "
            f"not to {event.event!r}"
        )
        raise Refusal("invalid", msg, event.msg_id)
    return EventReport(ward=ward, bed=bed, event=event)
