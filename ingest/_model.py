"""What ingest hands on: one typed value per input message, or the reason it was refused.

Every input message becomes exactly one of `Admission`, `Observation`, `Lab`, `AlertAction`,
`PlanUpdate`, `EventReport` or `Rejected`. Nothing is dropped on the way: a message that cannot be used
becomes `Rejected`, which the service publishes to the dead-letter topic (CONTRACT §6) and
keeps in the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, Literal, TypeAlias, get_args

import msgspec

from scoring import Context, ObservationSet

Channel: TypeAlias = Literal["adt", "obs", "fhir", "hl7v2", "labs", "plan", "event"]
CHANNELS: Final[tuple[Channel, ...]] = ("adt", "obs", "fhir", "hl7v2", "labs", "plan", "event")
"""The input topics `wards/{ward}/beds/{bed}/{channel}` (CONTRACT §1)."""

MAX_PAYLOAD: Final = 256 * 1024
"""Bytes; a larger payload is refused (`oversize`) before it is decoded."""

MSG_ID_MAX: Final = 128
"""Characters; a longer `msg_id` is refused (`invalid`) on every channel."""

_MSG_ID_FORBIDDEN: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories never allowed in a `msg_id`: control characters (Cc), invisible format
characters such as zero-width spaces and bidirectional overrides (Cf), lone surrogates (Cs,
which cannot even be written as UTF-8), and line and paragraph separators (Zl, Zp). Two ids
that print the same must be the same id, and an id must fit on one line of a log."""


def msg_id_problem(msg_id: str) -> str | None:
    """Why `msg_id` cannot identify a message, or None if it can.

    A msg_id is how a repeat is recognised and how an alert is named (`score-{msg_id}`), so it
    must be short and printable: at most `MSG_ID_MAX` characters, none of them a control,
    format, surrogate or line-separator character. Pure and cheap: one `isprintable` call for
    every ordinary id.
    """
    if not msg_id:
        return "msg_id is empty"
    if len(msg_id) > MSG_ID_MAX:
        return f"msg_id is {len(msg_id)} characters long; at most {MSG_ID_MAX} are allowed"
    if msg_id.isprintable():
        return None
    for at, char in enumerate(msg_id):
        category = unicodedata.category(char)
        if category in _MSG_ID_FORBIDDEN:
            name = unicodedata.name(char, "")
            described = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            return (
                f"msg_id holds {described} (Unicode category {category}) at character {at}; "
                "control, format and line-separator characters are not allowed"
            )
    return None  # only spaces, private-use or unassigned characters: printable enough


ERROR_CODES: Final = {
    # Refused by ingest, before scoring.
    "topic": "the topic is not an input topic of CONTRACT §1",
    "oversize": "the payload is larger than the limit",
    "not-utf8": "the payload is not UTF-8 text",
    "not-json": "the payload is not JSON",
    "invalid": (
        "a field is missing, of the wrong type, or not in the contract, or the msg_id is too "
        "long or holds control characters"
    ),
    "unit": "a value's unit is unknown or not the contract's unit (units are never converted)",
    "no-vitals": "the message carries no vital sign this system reads",
    "not-hl7": "the payload is not an HL7 v2 ORU^R01 message",
    "not-fhir": "the payload is not a FHIR R4 Observation or Bundle of Observations",
    "placement": "the message's patient, ward or bed contradicts its topic or context",
    "test-data": (
        "the message (or every value in it) is test, training or demonstration data, not a "
        "patient's reading: HL7 MSH-11 T or D, OBX-8 DEMO; FHIR meta tag or security HTEST"
    ),
    # Refused by ingest (a lab result) or by the scorer (a vital sign, against the chart).
    "implausible": "a value is outside the plausibility limits (SPEC §6.3, README)",
    # Refused by the scorer.
    "no-context": "no admitted patient in that bed (no ADT message yet, or discharged)",
    "contradictory": "two values contradict each other",
    "not-on-chart": "a value is not on the chart the patient is scored on",
    "unknown-key": "not_recorded names a key that is not a vital sign",
    "no-chart": "no chart fits the patient's context",
    "unknown-alert": "an acknowledgement or resolution names no open alert of that ward",
    "alert-state": "the alert's state does not allow that action (already acknowledged, say)",
    "alert-changed": (
        "the alert's severity changed after the person saw it (it was upgraded): look at it "
        "again and act on what it is now"
    ),
    "time": (
        "the message's time is too far ahead of the service's clock, too old, or before the "
        "patient's birth"
    ),
    "conflict": "a msg_id already accepted with other content",
    "internal": "the service could not handle the message; it was set aside, not retried forever",
    "flood": "too many refused messages on one topic: counted, the payloads not kept",
}
"""Every dead-letter `error` code, with what it means (README, "Dead letters")."""


class LabResult(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A lab result on `wards/{ward}/beds/{bed}/labs` (creatinine for AKI, README extension)."""

    msg_id: Annotated[str, msgspec.Meta(min_length=1)]
    patient_id: Annotated[str, msgspec.Meta(min_length=1)]
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    test: Literal["creatinine"]
    value: Annotated[float, msgspec.Meta(gt=0)]
    unit: Literal["umol/L"]


EventKind: TypeAlias = Literal[
    "rrt-call",
    "cardiac-arrest",
    "icu-admission",
    "death",
    "fall",
    "pressure-ulcer",
    "sepsis-treatment",
    "medication-incident",
    "senior-review",
]
EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)
"""The clinical events and harms of CONTRACT §9, in the contract's order, then the kinds added
since (README extensions): `senior-review`, a review of the patient by a doctor at registrar
level or above, or by the critical care outreach team (issue 16's time to senior review). A
later kind is added
to `EventKind`; until then a message naming it is refused (`invalid`), never
stored under a kind nobody reads."""


class ClinicalEvent(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A clinical event or harm on `wards/{ward}/beds/{bed}/event` (CONTRACT §9).

    `time` is when it happened (not when it was recorded); `by` who recorded it or responded
    (`resus team`, `outreach`); `category` the stage of a newly acquired pressure ulcer (1-4,
    only for `pressure-ulcer`, optional there); `note` free text (README extension). These are
    the outcomes the learned risk is judged on and the harms the safety dashboard counts: never
    a vital sign, never scored, never an alert of their own.
    """

    msg_id: Annotated[str, msgspec.Meta(min_length=1)]  # and `msg_id_problem`
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    patient_id: Annotated[str, msgspec.Meta(min_length=1)]
    event: EventKind
    by: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    category: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


ACTIONS: Final = ("ack", "resolve")
"""The alert commands, `wards/{ward}/alerts/{alert_id}/{action}` (README extension of §1)."""
Action: TypeAlias = Literal["ack", "resolve"]


class ActorIdentity(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Who acted, as the identity provider verified them (issue 14): the provider's `subject`
    (`sub`) and `issuer` (`iss`), the `name` it gave, and the `role` the wallboard's mapping
    granted on the ward. An extension of the alert command and of the alert event: a command
    without it (a pager gateway, the demo's simulated staff) names its actor in `by` alone."""

    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    issuer: Annotated[str, msgspec.Meta(max_length=500)]
    name: Annotated[str, msgspec.Meta(max_length=100)]
    role: Annotated[str, msgspec.Meta(max_length=200)]


class AlertCommand(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """An acknowledgement or resolution of an alert, from a person (README, "Alert actions").

    `by` names who; `reason` says why, required to resolve; `via` says where it came from
    (`outreach`, `ward-board`, a pager gateway's name). `severity` is the severity the person
    saw when they acted: if the alert has been raised to another severity since (a worsening
    patient's alert is upgraded in place, under the same id), the command is refused, so no
    one acknowledges an emergency they were never shown. Without it the check is not made.
    `identity` (an extension) is the verified person behind `by`, when a wallboard with login
    sent it; the alert event and the audit carry it.
    """

    msg_id: Annotated[str, msgspec.Meta(min_length=1)]  # and `msg_id_problem`
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    by: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    via: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    severity: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    identity: ActorIdentity | None = None
    identity_sig: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    """HMAC-SHA256 (hex) of the command's identity under the key the wallboard servers share
    with the scorer (`sign_identity`): the broker's ACL lets a pager gateway publish actions
    too, and the scorer believes an `identity` only with a valid signature."""


def _signed_part(alert_id: str, action: str, command: AlertCommand) -> bytes:
    return msgspec.json.encode(
        [alert_id, action, command.msg_id, command.time, command.by, command.identity]
    )


def sign_identity(key: bytes, alert_id: str, action: str, command: AlertCommand) -> str:
    """The `identity_sig` of `command` on `alert_id`'s `action` (its msg_id, time, `by` and
    identity, under `key`)."""
    return hmac.new(key, _signed_part(alert_id, action, command), hashlib.sha256).hexdigest()


def identity_verified(key: bytes | None, alert_id: str, action: str, command: AlertCommand) -> bool:
    """Whether `command`'s identity was signed with `key` (never without a key or signature)."""
    if key is None or command.identity is None or command.identity_sig is None:
        return False
    return hmac.compare_digest(command.identity_sig, sign_identity(key, alert_id, action, command))


class EscalationPlan(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A patient's documented escalation plan on `wards/{ward}/beds/{bed}/plan` (retained;
    README, "Escalation plans"). It changes who is called, never whether the score is shown.

    `ceiling` is the highest role to notify (a ceiling of care, e.g. `medical-team`);
    `alert_from` a level id of the patient's chart below which alerts stay with the first
    rung (an agreed different threshold). Both null clears the plan. `by` and `reason` are
    required: who agreed it, and why.
    """

    msg_id: Annotated[str, msgspec.Meta(min_length=1)]  # and `msg_id_problem`
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    patient_id: Annotated[str, msgspec.Meta(min_length=1)]
    by: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    ceiling: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    alert_from: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


@dataclass(frozen=True, slots=True)
class PlanUpdate:
    """A new escalation plan for the patient in a bed."""

    ward: str
    bed: str
    plan: EscalationPlan

    @property
    def msg_id(self) -> str:
        return self.plan.msg_id


@dataclass(frozen=True, slots=True)
class AlertAction:
    """A person acting on an alert: acknowledge it, or resolve it with a reason."""

    ward: str
    alert_id: str
    action: Action
    command: AlertCommand

    @property
    def msg_id(self) -> str:
        return self.command.msg_id


@dataclass(frozen=True, slots=True)
class Admission:
    """An ADT message: who is in the bed (`context.event` admit or transfer) or not (discharge).

    `context` carries `msg_id`, `time`, `event` and `patient_id` (all required on this
    channel) and `ward`/`bed` from the topic.
    """

    ward: str
    bed: str
    context: Context

    @property
    def msg_id(self) -> str:
        assert self.context.msg_id is not None  # noqa: S101 - the parser guarantees it
        return self.context.msg_id


@dataclass(frozen=True, slots=True)
class Observation:
    """An observation set from any format, in the one internal model (`ObservationSet`).

    Attributes:
        ward, bed: from the topic.
        channel: the format it came in (`obs`, `fhir` or `hl7v2`).
        obs: the set; `source` is `monitor` for FHIR and HL7 v2 device messages.
        ignored: everything in the message that was not read, each with why: codes that map
            to no vital this system reads (a monitor's mean arterial pressure, say), values
            withdrawn or refused one by one, earlier readings of a series (`ingest._device`
            lists the forms); kept with the observation so nothing vanishes.
        corrected: the vitals (`Vitals` field names, sorted) read from a correction (HL7
            OBX-11 C, FHIR status corrected or amended): each replaces the patient's value of
            that vital at the same time, the one it corrects (README, "Corrections"). Empty:
            not a correction. Last, and left out of the content digest when empty, so the
            digests of messages accepted before it existed are unchanged.
    """

    ward: str
    bed: str
    channel: Literal["obs", "fhir", "hl7v2"]
    obs: ObservationSet
    ignored: tuple[str, ...] = ()
    corrected: tuple[str, ...] = ()

    @property
    def msg_id(self) -> str:
        return self.obs.msg_id


@dataclass(frozen=True, slots=True)
class Lab:
    """A lab result."""

    ward: str
    bed: str
    lab: LabResult

    @property
    def msg_id(self) -> str:
        return self.lab.msg_id


@dataclass(frozen=True, slots=True)
class EventReport:
    """A clinical event or harm recorded for the patient in a bed (CONTRACT §9)."""

    ward: str
    bed: str
    event: ClinicalEvent

    @property
    def msg_id(self) -> str:
        return self.event.msg_id


Inbound: TypeAlias = Admission | Observation | Lab | AlertAction | PlanUpdate | EventReport


DEAD_LETTER_KEEP: Final = 4096
"""Bytes of a refused payload kept in its dead letter (the rest is counted and hashed)."""

DEAD_LETTER_TEXT: Final = 1024
"""Characters of a dead letter's `topic` and `reason` kept (they may quote the input)."""


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True):
    """A refused input as published on `surveillance/deadletter` (CONTRACT §6).

    Extensions: `encoding` says whether `payload` is the text itself or base64; `msg_id` is the
    message's msg_id when one could be read (and is a valid one); `size` is the length of the
    original payload in bytes and `sha256` its hex digest; `truncated` says that `payload`
    holds only its first bytes (`DEAD_LETTER_KEEP`), so a dead letter stays small whatever
    was sent, and the original can still be matched against the sender's copy.
    """

    time: datetime
    topic: str
    payload: str
    reason: str
    error: str
    encoding: Literal["utf-8", "base64"] = "utf-8"
    msg_id: str | None = None
    size: int | None = None
    sha256: str | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input that cannot be used, and why (`error` is a key of `ERROR_CODES`)."""

    topic: str
    payload: bytes
    error: str
    reason: str
    msg_id: str | None = None

    def dead_letter(self, time: datetime, *, keep: int = DEAD_LETTER_KEEP) -> DeadLetter:
        """The dead-letter message for this input, stamped with the time it was refused.

        Pure. The payload is kept up to `keep` bytes: as text when those bytes are UTF-8 (cut
        at a character boundary, never inside one), else as base64 of those bytes. `topic`
        and `reason` are cut at `DEAD_LETTER_TEXT` characters; a msg_id that is not a valid
        one (`msg_id_problem`) is left out.
        """
        payload = self.payload
        kept = payload[:keep]
        try:
            text, encoding = kept.decode("utf-8"), "utf-8"
            if "\x00" in text:  # UTF-8, but no database stores a NUL in text
                text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        except UnicodeDecodeError as exc:
            cut_inside_a_character = (
                len(kept) < len(payload)
                and exc.reason == "unexpected end of data"
                and exc.end == len(kept)
            )
            if cut_inside_a_character:
                kept = kept[: exc.start]
                text, encoding = kept.decode("utf-8"), "utf-8"
            else:
                text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        msg_id = self.msg_id
        if msg_id is not None and msg_id_problem(msg_id) is not None:
            msg_id = None
        return DeadLetter(
            time=time,
            topic=_cut(self.topic),
            payload=text,
            reason=_cut(self.reason),
            error=self.error,
            encoding=encoding,  # type: ignore[arg-type]
            msg_id=msg_id,
            size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
            truncated=len(kept) < len(payload),
        )


def _cut(text: str, limit: int = DEAD_LETTER_TEXT) -> str:
    """The text (a NUL written `\\x00`), or its first `limit` characters and how many more there
    were."""
    text = text.replace("\x00", "\\x00")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
