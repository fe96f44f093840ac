"""Hand-built store contents for the dashboard's tests: records as the service writes them
(ADT, nurses' and devices' sets with their scores, alert events, clinical events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from surveillance.store import (
    AdtRecord,
    AlertRecord,
    Batch,
    EventRecord,
    ObservationRecord,
    ScoreRecord,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; London is on UTC in November
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@dataclass
class Hospital:
    """Records to write in one batch; `n` numbers messages."""

    batch: Batch = field(default_factory=Batch)
    n: int = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def adt(
        self, patient: str, ward: str, event: str, time: datetime, bed: str = "1", **context: Any
    ) -> None:
        self.batch.adt.append(
            AdtRecord(self._id("adt"), time, time, ward, bed, patient, event,
                      {"cohort": "adult", "ward": ward, "bed": bed, **context})
        )  # fmt: skip

    def admit(self, patient: str, ward: str, time: datetime, **context: Any) -> None:
        self.adt(patient, ward, "admit", time, **context)

    def obs(
        self,
        patient: str,
        ward: str,
        time: datetime,
        due: datetime | None,
        *,
        source: str = "manual",
        system: str = "NEWS2",
    ) -> None:
        """A set and its score; `due` its `next_obs_due`."""
        msg_id = self._id("obs")
        self.batch.observations.append(
            ObservationRecord(msg_id, time, time, ward, "1", patient, "obs", source, {"heart_rate": 80})
        )  # fmt: skip
        result = {
            "patient_id": patient, "ward": ward, "bed": "1", "obs_msg_id": msg_id,
            "time": time.isoformat().replace("+00:00", "Z"), "system": system, "total": 1,
            "next_obs_due": None if due is None else due.isoformat().replace("+00:00", "Z"),
            "last_manual_obs": time.isoformat() if source == "manual" else None,
        }  # fmt: skip
        self.batch.scores.append(
            ScoreRecord(msg_id, time, patient, ward, "1", system, "news2", 1, "low", True,
                        msgspec.json.encode(result))
        )  # fmt: skip

    def alert(
        self,
        alert_id: str,
        patient: str,
        ward: str,
        states: list[tuple[datetime, str]],
        *,
        kind: str = "score",
        severity: str | list[str] = "urgent",
        system: str | None = "NEWS2",
    ) -> None:
        """An alert's events, one per (time, state); `severity` one or one per event."""
        severities = severity if isinstance(severity, list) else [severity] * len(states)
        for seq, ((time, state), sev) in enumerate(zip(states, severities, strict=True), 1):
            event = {"alert_id": alert_id, "patient_id": patient, "ward": ward, "bed": "1",
                     "time": time.isoformat(), "kind": kind, "severity": sev, "state": state,
                     "message": "m", "seq": seq, "system": system}  # fmt: skip
            self.batch.alerts.append(
                AlertRecord(alert_id, seq, time, ward, "1", patient, kind, sev, state, "m", None,
                            msgspec.json.encode(event))
            )  # fmt: skip

    def event(self, patient: str, ward: str, kind: str, time: datetime) -> None:
        self.batch.events.append(EventRecord(self._id("ev"), time, time, ward, "1", patient, kind))
