"""Simulated senior reviews (`senior-review`, an extension of CONTRACT §9): a doctor reviews the
urgent scores the staff act on, within 10-90 minutes and before the treatment it starts; the
night-escalation inequity makes night reviews hours later; publishing them changed no other
event."""

from __future__ import annotations

from typing import Any

import msgspec

from ingest import EventReport, parse
from scoring import ChartSet
from simulators import URGENT_RESPONSES, parse_time
from tests.sim_helpers import patients, run

OPTIONS: dict[str, Any] = {
    "wards": 4,
    "beds": 20,
    "hours": 72,
    "seed": 5,
    "mode": "manual",
    "ward_kinds": ("medical", "surgical"),
}


def test_each_review_follows_an_urgent_score_of_the_patient(charts: ChartSet) -> None:
    messages = run(charts, **OPTIONS)
    found = patients(messages, charts)
    reviews = 0
    for patient in found.values():
        urgent = [
            int(o.time.timestamp()) for o, r in patient.manual if r.response in URGENT_RESPONSES
        ]
        for e in patient.events:
            if e["event"] != "senior-review":
                continue
            reviews += 1
            at = parse_time(e["time"])
            waits = [at - t for t in urgent if at - t >= 0]
            assert waits, (patient.patient_id, e)
            assert min(waits) <= 90 * 60  # 10-90 minutes (sooner when treatment came sooner)
            assert e["by"] == "medical registrar"
    assert reviews >= 20
    for m in messages:
        if m.topic.endswith("/event"):
            assert isinstance(parse(m.topic, m.payload), EventReport)  # ingest takes them


def _events(messages: list[Any], kind: str | None = None) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        if m.topic.endswith("/event"):
            body = msgspec.json.decode(m.payload)
            if kind is None or body["event"] == kind:
                body.pop("msg_id")  # numbered per bed: reviews take numbers too
                out.append(body)
    return out


def test_reviews_changed_no_other_event(charts: ChartSet) -> None:
    messages = run(charts, **OPTIONS)
    others = [e for e in _events(messages) if e["event"] != "senior-review"]
    assert others
    assert _events(run(charts, **OPTIONS)) == _events(messages)  # deterministic
    # every other message is the same whether or not the staff's reviews are published
    without = run(charts, **OPTIONS, events=False)
    assert [m for m in messages if not m.topic.endswith("/event")] == without


def test_night_escalation_delays_night_reviews(charts: ChartSet) -> None:
    def waits(messages: list[Any]) -> list[float]:
        """Minutes from each patient's first urgent score to their first review."""
        out = []
        for patient in patients(messages, charts).values():
            urgent = [
                int(o.time.timestamp()) for o, r in patient.manual if r.response in URGENT_RESPONSES
            ]
            reviews = [
                parse_time(e["time"]) for e in patient.events if e["event"] == "senior-review"
            ]
            if urgent and reviews:
                out.append((reviews[0] - urgent[0]) / 60)
        return out

    fair = waits(run(charts, **OPTIONS))
    slow = waits(run(charts, **OPTIONS, inequity=("night-escalation",)))
    assert max(fair) <= 90
    assert sum(w > 90 for w in slow) >= 3  # hours later at night
