"""Ingest, the contract boundary: every input message (native JSON, FHIR R4, HL7 v2) into one
internal model, the topics, the code tables, and the one MQTT adapter.

`parse(topic, payload)` gives an `Admission`, `Observation`, `Lab`, `AlertAction`,
`PlanUpdate` or `EventReport` (a clinical event, CONTRACT §9), or a `Rejected` saying why
(CONTRACT §1–§3, §6, §9); it and the topic parsers and
code tables (`LOINC`, `UCUM`, `MDC`) are pure: no I/O, no clock. The I/O is `BrokerLink`, the
service's reconnecting MQTT connection, and `BrokerURL` says where the broker is.
"""

from ingest._broker import BrokerLink, Received
from ingest._broker_url import BrokerURL, parse_broker_url
from ingest._codes import (
    BP_PANEL,
    LOINC,
    LOINC_SYSTEM,
    MDC,
    MDC_ALSO,
    UCUM,
    UCUM_SYSTEM,
    Loinc,
    Mdc,
    Ucum,
)
from ingest._logs import failure_site
from ingest._model import (
    ACTIONS,
    CHANNELS,
    DEAD_LETTER_KEEP,
    DEAD_LETTER_TEXT,
    ERROR_CODES,
    EVENT_KINDS,
    MAX_PAYLOAD,
    MSG_ID_MAX,
    Action,
    Admission,
    AlertAction,
    AlertCommand,
    Channel,
    ClinicalEvent,
    DeadLetter,
    EscalationPlan,
    EventKind,
    EventReport,
    Inbound,
    Lab,
    LabResult,
    Observation,
    PlanUpdate,
    Rejected,
    msg_id_problem,
)
from ingest._native import VITAL_SIGNS
from ingest._parse import INTERNAL, parse
from ingest._topics import (
    DEAD_LETTER_TOPIC,
    HEARTBEAT_TOPIC,
    alert_action_topic,
    alerts_topic,
    bed_topic,
    board_filters,
    input_filters,
    parse_alert_topic,
    parse_topic,
    score_topic,
)
from ingest._vocabulary import vocabulary

__all__ = [
    "ACTIONS",
    "BP_PANEL",
    "CHANNELS",
    "DEAD_LETTER_KEEP",
    "DEAD_LETTER_TEXT",
    "DEAD_LETTER_TOPIC",
    "ERROR_CODES",
    "EVENT_KINDS",
    "HEARTBEAT_TOPIC",
    "INTERNAL",
    "LOINC",
    "LOINC_SYSTEM",
    "MAX_PAYLOAD",
    "MDC",
    "MDC_ALSO",
    "MSG_ID_MAX",
    "UCUM",
    "UCUM_SYSTEM",
    "VITAL_SIGNS",
    "Action",
    "Admission",
    "AlertAction",
    "AlertCommand",
    "BrokerLink",
    "BrokerURL",
    "Channel",
    "ClinicalEvent",
    "DeadLetter",
    "EscalationPlan",
    "EventKind",
    "EventReport",
    "Inbound",
    "Lab",
    "LabResult",
    "Loinc",
    "Mdc",
    "Observation",
    "PlanUpdate",
    "Received",
    "Rejected",
    "Ucum",
    "alert_action_topic",
    "alerts_topic",
    "bed_topic",
    "board_filters",
    "failure_site",
    "input_filters",
    "msg_id_problem",
    "parse",
    "parse_alert_topic",
    "parse_broker_url",
    "parse_topic",
    "score_topic",
    "vocabulary",
]
