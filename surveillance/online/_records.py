"""Every record the scorer hands the store, built in one place (CONTRACT-shaped payloads in,
`surveillance.store` records out). The alert desk builds its records here too."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from ingest import Admission, DeadLetter, EscalationPlan, EventReport, Lab, Observation
from scoring import ScoreResult
from surveillance.store import (
    AdtRecord,
    AlertRecord,
    DeadLetterRecord,
    EventRecord,
    LabRecord,
    ObservationRecord,
    PlanRecord,
    ScoreRecord,
)

if TYPE_CHECKING:
    from surveillance.online._event import AlertEvent


def observation_record(item: Observation, received: datetime) -> ObservationRecord:
    """The observation as received (its vitals, not the snapshot scored)."""
    obs = item.obs
    return ObservationRecord(
        msg_id=obs.msg_id,
        time=obs.time,
        received_at=received,
        ward=item.ward,
        bed=item.bed,
        patient_id=obs.patient_id,
        channel=item.channel,
        source=obs.source,
        vitals=msgspec.to_builtins(obs.vitals),
        not_recorded=dict(obs.not_recorded),
        ignored=list(item.ignored),
    )


def score_record(item: Observation, result: ScoreResult, payload: bytes) -> ScoreRecord:
    """The score result; `payload` is its JSON, as published."""
    return ScoreRecord(
        obs_msg_id=result.obs_msg_id,
        time=result.time,
        patient_id=result.patient_id,
        ward=item.ward,
        bed=item.bed,
        system=result.system,
        chart=result.chart,
        total=result.total,
        risk=result.risk,
        complete=result.complete,
        result=payload,
    )


def adt_record(item: Admission, received: datetime) -> AdtRecord:
    context = item.context
    assert context.time is not None and context.patient_id is not None  # noqa: S101, PT018
    return AdtRecord(
        msg_id=item.msg_id,
        time=context.time,
        received_at=received,
        ward=item.ward,
        bed=item.bed,
        patient_id=context.patient_id,
        event=context.event or "",
        context=msgspec.to_builtins(context),
    )


def lab_record(item: Lab, received: datetime) -> LabRecord:
    lab = item.lab
    return LabRecord(
        msg_id=lab.msg_id,
        time=lab.time,
        received_at=received,
        ward=item.ward,
        bed=item.bed,
        patient_id=lab.patient_id,
        test=lab.test,
        value=lab.value,
        unit=lab.unit,
    )


def event_record(item: EventReport, received: datetime) -> EventRecord:
    """A clinical event (CONTRACT §9) as received, with the topic's ward and bed."""
    event = item.event
    return EventRecord(
        msg_id=event.msg_id,
        time=event.time,
        received_at=received,
        ward=item.ward,
        bed=item.bed,
        patient_id=event.patient_id,
        event=event.event,
        category=event.category,
        recorded_by=None if event.by is None else event.by.strip(),
        note=event.note,
    )


def plan_record(ward: str, bed: str, doc: EscalationPlan, received: datetime) -> PlanRecord:
    return PlanRecord(
        msg_id=doc.msg_id,
        time=doc.time,
        received_at=received,
        ward=ward,
        bed=bed,
        patient_id=doc.patient_id,
        by=doc.by,
        reason=doc.reason,
        plan=msgspec.to_builtins(doc),
    )


def dead_letter_record(key: str, letter: DeadLetter, received: datetime) -> DeadLetterRecord:
    """`key`: the digest of the refused message's topic and payload (stored once)."""
    return DeadLetterRecord(
        digest=key,
        time=received,
        topic=letter.topic,
        error=letter.error,
        reason=letter.reason,
        payload=letter.payload,
        encoding=letter.encoding,
        msg_id=letter.msg_id,
        size=letter.size or 0,
        sha256=letter.sha256 or "",
        truncated=letter.truncated,
    )


def alert_record(event: AlertEvent, payload: bytes) -> AlertRecord:
    """An alert event; `payload` is its JSON, as published."""
    return AlertRecord(
        alert_id=event.alert_id,
        seq=event.seq,
        time=event.time,
        ward=event.ward,
        bed=event.bed,
        patient_id=event.patient_id,
        kind=event.kind,
        severity=event.severity,
        state=event.state,
        message=event.message,
        obs_msg_id=event.obs_msg_id,
        event=payload,
    )
