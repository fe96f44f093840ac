"""Ingest: every input message (native JSON, FHIR R4, HL7 v2) into one internal model.

Pure: no I/O, no clock. `parse(topic, payload)` gives an `Admission`, `Observation` or `Lab`,
or a `Rejected` saying why (CONTRACT §1–§3, §6).
"""

from ingest._model import (
    CHANNELS,
    ERROR_CODES,
    MAX_PAYLOAD,
    Admission,
    Channel,
    DeadLetter,
    Inbound,
    Lab,
    LabResult,
    Observation,
    Rejected,
)
from ingest._parse import parse
from ingest._topics import parse_topic

__all__ = [
    "CHANNELS",
    "ERROR_CODES",
    "MAX_PAYLOAD",
    "Admission",
    "Channel",
    "DeadLetter",
    "Inbound",
    "Lab",
    "LabResult",
    "Observation",
    "Rejected",
    "parse",
    "parse_topic",
]
