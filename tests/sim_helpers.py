"""Reading a simulated stream back: per-patient timelines, scored as the scorer would."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec

from scoring import ChartSet, Context, InvalidObservation, ObservationSet, ScoreResult, score
from simulators import Message, SimConfig, parse_time, simulate


@dataclass
class Patient:
    """Everything the stream said about one patient."""

    patient_id: str
    context: Context
    scenario: str = ""
    adt: list[dict[str, Any]] = field(default_factory=list)
    obs: list[tuple[ObservationSet, ScoreResult | None]] = field(default_factory=list)
    outcomes: list[tuple[int, str]] = field(default_factory=list)
    labs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # CONTRACT §9, as published
    chronic: tuple[str, ...] = ()  # the truth's: hidden traits, never on the patient's topics
    frailty: float = 0.0
    reviews: list[tuple[int, int]] = field(default_factory=list)  # (from, until): 4-hourly plans

    @property
    def manual(self) -> list[tuple[ObservationSet, ScoreResult]]:
        return [(o, r) for o, r in self.obs if o.source == "manual" and r is not None]


def run(charts: ChartSet, **options: Any) -> list[Message]:
    return list(simulate(SimConfig(**options), charts))


def patients(messages: list[Message], charts: ChartSet) -> dict[str, Patient]:
    """Group native-JSON messages by patient, scoring every observation set with its context."""
    found: dict[str, Patient] = {}
    for message in messages:
        kind = message.topic.rsplit("/", 1)[-1]
        if kind in ("fhir", "hl7v2"):
            continue
        body = msgspec.json.decode(message.payload)
        pid = body["patient_id"]
        if kind == "adt":
            fields = {k: v for k, v in body.items() if k not in ("msg_id", "time", "event")}
            context = msgspec.convert(fields, Context)
            patient = found.setdefault(pid, Patient(pid, context))
            patient.adt.append(body)
        elif kind == "obs":
            patient = found[pid]
            obs = msgspec.json.decode(message.payload, type=ObservationSet)
            try:
                result: ScoreResult | None = score(obs, patient.context, charts)
            except InvalidObservation:
                result = None
            patient.obs.append((obs, result))
        elif kind == "labs":
            found[pid].labs.append(body)
        elif kind == "event":
            found[pid].events.append(body)
        elif message.topic == "simulation/truth":
            if body["kind"] == "scenario":
                found[pid].scenario = body["scenario"]
                found[pid].chronic = tuple(body.get("chronic", ()))
                found[pid].frailty = float(body.get("frailty", 0.0))
            elif body["kind"] == "review":
                found[pid].reviews.append((message.time, parse_time(body["until"])))
            else:
                found[pid].outcomes.append((message.time, body["event"]))
    return found


def by_kind(messages: list[Message]) -> dict[str, list[Message]]:
    kinds: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        kinds[message.topic.rsplit("/", 1)[-1]].append(message)
    return kinds
