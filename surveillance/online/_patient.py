"""A patient's state, as data: what the scorer and each alert rule keep between messages.

`snapshot` / `restore` are the rows the scorer commits with each batch (`StateRecord` key
`patient:{id}`: `{"patient": …, "alerts": […]}`) so a restart resumes where the last committed
batch left off. The format is the one written before the scorer was split (issue 13): field
names unchanged; fields added since have defaults, so older rows load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from ingest import EscalationPlan
from scoring import Context, Creatinine
from surveillance.online._desk import OpenAlert
from surveillance.online._snapshot import Value

_encode_state = msgspec.json.Encoder(order="deterministic").encode


@dataclass(slots=True)
class Patient:
    """One placed patient. Each group of fields belongs to one concern (and rule)."""

    context: Context
    ward: str
    bed: str
    since: datetime
    # snapshot (`_snapshot`): each vital's latest value, while fresh
    values: dict[str, Value] = field(default_factory=dict)
    # score alerts (`rules._score`): the level alerted, device persistence, hysteresis, quiet
    alerted_rank: int = -1
    alerted_red: frozenset[str] = frozenset()
    pending: tuple[int, frozenset[str], datetime] | None = None
    # overdue (`rules._overdue`)
    last_manual: datetime | None = None  # the latest nurse's set: next obs due counts from it
    due: datetime | None = None  # the next full set, from the latest score
    interval: timedelta | None = None  # the latest score's monitoring interval
    overdue_alert: str | None = None
    # score alerts, continued
    below_since: datetime | None = None  # complete scores below the level alerted, since
    quiet_until: datetime | None = None  # after an acknowledgement: no repeat at its level
    quiet_rank: int = -1
    # sepsis (`rules._sepsis`): prompts of the latest score (alerted when new)
    prompts: frozenset[str] = frozenset()
    # AKI (`rules._aki`): the last year's creatinine results
    creatinine: list[Creatinine] = field(default_factory=list)
    # plans (`rules._plans`): the documented escalation plan, if any
    plan: EscalationPlan | None = None
    # feed (`rules._feed`)
    device_at: datetime | None = None
    device_msg_id: str | None = None
    feed_alert: str | None = None
    device_obs_at: datetime | None = None  # the latest device reading's own time
    # placement
    adt_at: datetime | None = None  # the time of the latest ADT applied to the patient
    # learned risk (`rules.model`, when model alerts are on): the episode alerted, and since
    # when its estimates have been below the threshold
    learned_alerted: bool = False
    learned_below_since: datetime | None = None

    @property
    def id(self) -> str:
        """The patient id (placed patients always have one)."""
        patient_id = self.context.patient_id
        assert patient_id is not None  # noqa: S101 - ADT always names the patient
        return patient_id

    def snapshot(self, alerts: Sequence[OpenAlert]) -> bytes:
        """The patient's state row, with their open alerts, as JSON (`{"patient", "alerts"}`;
        encoded once, straight from the objects: what `restore` reads back decoded)."""
        return _encode_state({"patient": self, "alerts": alerts})

    @staticmethod
    def restore(row: Mapping[str, Any]) -> tuple[Patient, list[OpenAlert]]:
        """The patient and their open alerts from a state row (`snapshot`)."""
        patient = msgspec.convert(row["patient"], Patient)
        return patient, msgspec.convert(row["alerts"], list[OpenAlert])
