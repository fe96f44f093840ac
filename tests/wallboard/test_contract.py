"""The contract between the scorer and the wallboard (issue 13): what the scorer writes decodes
with the wallboard's own reader types, strictly, so a field renamed, retyped or added on one
side without the other fails here instead of going silently missing on a screen.

The scorer's side is real: a pure `OnlineScorer` run through every kind of alert and every
state (`scorer_run`), and the heartbeat of a real `Service` on a real broker. The reader types
are the wallboard's (`wallboard._state`, `wallboard._feed`), made strict for the test only: the
wallboard itself reads leniently (a newer scorer's extra field must not blank a screen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ingest import parse
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings, Output
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_online import HIGH, NORMAL, WARD, admit, at, device, obs
from tests.surveillance.test_pipeline import (
    adt,
    listening,
    obs_json,
    running,
    send,
    settings_for,
    ward,
)
from wallboard import AlertReader, HeartbeatReader, ScoreReader, WardBoard


class StrictScore(ScoreReader, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The wallboard's score reader, refusing any field it does not know."""


class StrictAlert(AlertReader, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The wallboard's alert reader, refusing any field it does not know (`identity`, the
    verified person behind `by`, is named here as a field the wallboard knows and leaves out:
    the audit keeps it; the screens show `by`)."""

    identity: dict[str, str] | None = None


class StrictHeartbeat(HeartbeatReader, forbid_unknown_fields=True):
    """The wallboard's heartbeat reader, refusing any field it does not know (the scorer's
    `service` and `patients` are named here as the fields the wallboard knows and ignores)."""

    service: str | None = None
    patients: int | None = None


@dataclass
class ScorerRun:
    """Everything one scorer run published, in order: (topic, payload)."""

    published: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [msgspec.json.decode(p) for t, p in self.published if t.endswith("/alerts")]

    @property
    def scores(self) -> list[dict[str, Any]]:
        return [msgspec.json.decode(p) for t, p in self.published if t.endswith("/score")]


def _lab(msg_id: str, seconds: float, value: float) -> Arrival:
    topic = f"wards/{WARD}/beds/12/labs"
    payload = msgspec.json.encode(
        {
            "msg_id": msg_id,
            "patient_id": "P1",
            "time": at(seconds).isoformat(),
            "test": "creatinine",
            "value": value,
            "unit": "umol/L",
        }
    )
    return Arrival(parse(topic, payload), topic, payload, at(max(seconds, 0)))


def _command(alert_id: str, action: str, seconds: float, **extra: str) -> Arrival:
    topic = f"wards/{WARD}/alerts/{alert_id}/{action}"
    payload = msgspec.json.encode(
        {"msg_id": f"c-{action}-{alert_id}", "time": at(seconds).isoformat(), "by": "Sam"} | extra
    )
    return Arrival(parse(topic, payload), topic, payload, at(seconds))


def scorer_run(charts: ChartSet) -> ScorerRun:
    """A patient with suspected infection through every kind of alert and every state:
    a high NEWS2 (score, emergency) that prompts sepsis, a device that then falls silent
    (feed), creatinine tripled (aki-3), observations missed (overdue), escalations,
    an acknowledgement, a resolution, and the discharge resolving the rest."""
    scorer = OnlineScorer(charts, OnlineSettings(device_persistence=0, feed_timeout=300))
    run = ScorerRun()

    def take(out: Output) -> None:
        run.published.extend((p.topic, p.payload) for p in out.publications)

    day = 24 * 3600.0
    take(scorer.handle([admit(infection="suspected", birth_date="1950-01-01")]))
    take(scorer.handle([_lab("lab-base", -2 * day, 80.0)]))
    take(scorer.handle([obs(HIGH, t=60, msg_id="set-high")]))
    take(scorer.handle([device({"heart_rate": 120, "spo2": 93}, t=120)]))
    take(scorer.handle([_lab("lab-now", 180, 300.0)]))
    for minute in range(4, 180, 2):  # feed silent, escalations, the set overdue then missed
        take(scorer.tick(at(minute * 60)))
    open_ids = sorted({e["alert_id"] for e in run.alerts})
    score_id = next(i for i in open_ids if i.startswith("score-"))
    aki_id = next(i for i in open_ids if i.startswith("aki-"))
    take(scorer.handle([_command(score_id, "ack", 3 * 3600)]))
    take(scorer.handle([_command(aki_id, "resolve", 3 * 3600 + 60, reason="reviewed")]))
    take(scorer.handle([obs(NORMAL, t=3 * 3600 + 120, msg_id="set-normal")]))
    take(scorer.handle([admit(event="discharge", t=3 * 3600 + 180)]))
    return run


@pytest.fixture(scope="module")
def run(charts: ChartSet) -> ScorerRun:
    return scorer_run(charts)


def test_the_run_covers_what_the_wallboard_reads(run: ScorerRun) -> None:
    assert {e["kind"] for e in run.alerts} == {"score", "sepsis", "aki", "feed", "overdue"}
    assert {e["state"] for e in run.alerts} == {"raised", "escalated", "acknowledged", "resolved"}
    assert {s["obs_msg_id"] for s in run.scores} >= {"set-high", "dev-120", "set-normal"}


def test_every_alert_event_decodes_strictly_with_the_wallboards_reader(run: ScorerRun) -> None:
    for event in run.alerts:
        decoded = msgspec.convert(event, StrictAlert)
        assert decoded.alert_id == event["alert_id"]


def test_every_score_result_decodes_strictly_with_the_wallboards_reader(run: ScorerRun) -> None:
    for score in run.scores:
        msgspec.convert(score, StrictScore)


def test_the_board_takes_every_message_of_the_run(run: ScorerRun) -> None:
    board = WardBoard()
    board.apply(f"wards/{WARD}/beds/12/adt", adt("P1"))
    for topic, payload in run.published:
        if "/deadletter" not in topic:
            board.apply(topic, payload)
    assert board.rejected == {}


def test_a_device_readings_score_says_what_it_measured(run: ScorerRun) -> None:
    """The live chart plots `measured`, as the history API plots the reading's own vitals."""
    manual = next(s for s in run.scores if s["obs_msg_id"] == "set-high")
    reading = next(s for s in run.scores if s["obs_msg_id"] == "dev-120")
    assert "measured" not in manual  # a nurse's set measured all its vitals
    assert reading["measured"] == {"heart_rate": 120, "spo2": 93}
    assert reading["vitals"]["temperature"] == HIGH["temperature"]  # carried over, scored


def test_a_strict_reader_refuses_a_field_it_does_not_know(run: ScorerRun) -> None:
    """The contract tests above can fail: a field the wallboard does not declare is refused."""
    drifted = run.alerts[0] | {"severity_level": 3}
    with pytest.raises(msgspec.ValidationError, match="severity_level"):
        msgspec.convert(drifted, StrictAlert)
    renamed = {k: v for k, v in run.scores[0].items() if k != "risk"} | {"risk_band": "low"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(renamed, StrictScore)


async def test_a_real_services_messages_decode_strictly(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """On the wire: the heartbeat, a score and its alert of a running service."""
    w = ward()
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}")
    settings.broker.prefix = f"{w}/"
    async with (
        running(settings, charts),
        listening(mosquitto, f"{w}/#") as heard,
    ):
        await send(
            mosquitto,
            (f"{w}/wards/{w}/beds/1/adt", adt("P1")),
            (f"{w}/wards/{w}/beds/1/obs", obs_json("P1", f"o-{w}", HIGH)),
        )
        await heard.wait(
            lambda h: bool(h.on("/score") and h.on("/alerts") and h.on("/heartbeat")), timeout=20
        )
    for beat in heard.on("/heartbeat"):
        msgspec.convert(beat, StrictHeartbeat)
    for score in heard.on("/score"):  # from JSON, as the wallboard reads it (`learned_risk`
        # is kept raw, to be read on its own, so it converts from bytes only)
        msgspec.json.decode(msgspec.json.encode(score), type=StrictScore)
    assert any(score.get("learned_risk") for score in heard.on("/score")), (
        "the shipped learned risk runs in the real service"
    )
    for alert in heard.on("/alerts"):
        msgspec.convert(alert, StrictAlert)
