"""Builders for observation sets and contexts in tests."""

from __future__ import annotations

from typing import Any

import msgspec

from scoring import Context, ObservationSet

DEFAULT_TIME = "2026-11-22T09:30:00Z"

CONTRACT_VITALS: dict[str, Any] = {
    "resp_rate": 22,
    "spo2": 95,
    "on_oxygen": False,
    "systolic_bp": 108,
    "diastolic_bp": 70,
    "heart_rate": 104,
    "consciousness": "A",
    "temperature": 38.4,
}
"""CONTRACT §3's example vitals: NEWS2 6 (medium)."""
CONTRACT_OBSERVATION: dict[str, Any] = {
    "msg_id": "obs-7f3a",
    "patient_id": "P001",
    "time": DEFAULT_TIME,
    "source": "manual",
    "vitals": CONTRACT_VITALS,
}
"""CONTRACT §3's example observation set, as JSON-ready data."""

CHART_IDS = (
    "news2",
    "meows-send",
    "mews-subbe-2001",
    "pews-nhse-2023-0-11m",
    "pews-nhse-2023-1-4y",
    "pews-nhse-2023-5-12y",
    "pews-nhse-2023-13+y",
)
"""Every chart shipped."""


def make_obs(
    vitals: dict[str, Any] | None = None,
    *,
    time: str = DEFAULT_TIME,
    msg_id: str = "obs-1",
    patient_id: str = "P1",
    not_recorded: dict[str, str] | None = None,
    source: str = "manual",
) -> ObservationSet:
    """An observation set, built through the same strict conversion as decoded JSON."""
    return msgspec.convert(
        {
            "msg_id": msg_id,
            "patient_id": patient_id,
            "time": time,
            "source": source,
            "vitals": vitals or {},
            "not_recorded": not_recorded or {},
        },
        ObservationSet,
    )


def make_ctx(**fields: Any) -> Context:
    """A patient context (CONTRACT §2 fields plus chart, ward, bed)."""
    return msgspec.convert(fields, Context)


NEWS2_NORMAL: dict[str, Any] = {
    "resp_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 120,
    "heart_rate": 70,
    "consciousness": "A",
    "temperature": 37.0,
}
"""A complete adult set scoring 0 on NEWS2; tests change one key at a time."""

PEWS_NORMAL_5_12Y: dict[str, Any] = {
    "resp_rate": 22,
    "resp_distress": "none",
    "spo2": 98,
    "on_oxygen": False,
    "heart_rate": 100,
    "systolic_bp": 100,
    "crt_seconds": 2,
    "consciousness": "A",
    "temperature": 37.0,
}
"""A complete 5–12 y set scoring 0 on PEWS."""
