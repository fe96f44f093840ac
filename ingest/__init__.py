"""Ingest: every input message (native JSON, FHIR R4, HL7 v2) into one internal model.

Pure: no I/O, no clock. `parse(topic, payload)` gives an `Admission`, `Observation`, `Lab`,
`AlertAction` or `PlanUpdate`, or a `Rejected` saying why (CONTRACT §1–§3, §6).
"""

from ingest._model import (
    ACTIONS,
    CHANNELS,
    DEAD_LETTER_KEEP,
    ERROR_CODES,
    MAX_PAYLOAD,
    MSG_ID_MAX,
    Action,
    Admission,
    AlertAction,
    AlertCommand,
    Channel,
    DeadLetter,
    EscalationPlan,
    Inbound,
    Lab,
    LabResult,
    Observation,
    PlanUpdate,
    Rejected,
    msg_id_problem,
)
from ingest._parse import parse
from ingest._topics import parse_alert_topic, parse_topic
from ingest._vocabulary import vocabulary

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "DEAD_LETTER_KEEP",
    "ERROR_CODES",
    "MAX_PAYLOAD",
    "MSG_ID_MAX",
    "Action",
    "Admission",
    "AlertAction",
    "AlertCommand",
    "Channel",
    "DeadLetter",
    "EscalationPlan",
    "Inbound",
    "Lab",
    "LabResult",
    "Observation",
    "PlanUpdate",
    "Rejected",
    "msg_id_problem",
    "parse",
    "parse_alert_topic",
    "parse_topic",
    "vocabulary",
]
