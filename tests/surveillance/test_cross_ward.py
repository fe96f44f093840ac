"""What an identity scoped to one ward can do to a patient on another (review of issue 14).

The locked-down broker confines a ward's gateway to `wards/MED1/beds/+/{adt,obs,...}` and a
ward's devices to `wards/MED1/beds/+/{obs,fhir,hl7v2}` (proven in
tests/ingest/test_locked_broker.py). These tests feed the scorer exactly what such an identity
may publish, parsed as the service parses it, and ask whether a patient on SURG1 is safe from
it. Each is a strict xfail: it documents a finding, and fails (XPASS) once it is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from ingest import parse
from scoring import ChartSet
from surveillance import AlertEvent, Arrival, OnlineScorer, Output

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HIGH = {
    "resp_rate": 25,
    "spo2": 95,
    "on_oxygen": False,
    "systolic_bp": 95,
    "heart_rate": 104,
    "consciousness": "A",
    "temperature": 38.4,
}  # NEWS2 8
NORMAL = {**HIGH, "resp_rate": 16, "spo2": 97, "systolic_bp": 125, "heart_rate": 72}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def arrive(topic: str, t: float, **payload: Any) -> Arrival:
    """A message on `topic`, parsed by ingest as the service parses it."""
    body = msgspec.json.encode({"time": at(t).isoformat(), **payload})
    return Arrival(parse(topic, body), topic, body, at(t))


def adt(ward: str, bed: str, patient: str, event: str, t: float) -> Arrival:
    return arrive(
        f"wards/{ward}/beds/{bed}/adt",
        t,
        msg_id=f"adt-{ward}-{bed}-{event}-{t}",
        event=event,
        patient_id=patient,
        cohort="adult",
    )


def obs(
    ward: str, bed: str, patient: str, vitals: dict[str, Any], t: float, msg_id: str
) -> Arrival:
    return arrive(
        f"wards/{ward}/beds/{bed}/obs",
        t,
        msg_id=msg_id,
        patient_id=patient,
        source="manual",
        vitals=vitals,
    )


def events(out: Output) -> list[AlertEvent]:
    return [
        msgspec.json.decode(p.payload, type=AlertEvent)
        for p in out.publications
        if p.topic.endswith("/alerts")
    ]


@pytest.fixture
def surg1_alert(charts: ChartSet) -> tuple[OnlineScorer, str]:
    """Patient S on SURG1 bed 4 with an open NEWS2 8 alert; a MED1 bed 1 holds patient M."""
    scorer = OnlineScorer(charts)
    scorer.handle([adt("SURG1", "4", "S", "admit", 0), adt("MED1", "1", "M", "admit", 0)])
    [raised] = events(scorer.handle([obs("SURG1", "4", "S", HIGH, 60, "surg1-obs-0001")]))
    assert (raised.ward, raised.state) == ("SURG1", "raised")
    return scorer, raised.alert_id


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="review14 F1, the scorer's side: it cannot tell who published an ADT, and takes an "
    "admit/transfer naming a SURG1 patient on MED1's topics as a transfer into MED1. Closed at "
    "the broker instead: only the hospital-wide PAS identity may publish ADT (test_locked_broker"
    ".py, ward-gateway-sends-adt-even-for-its-own-ward); any identity allowed ADT can still move "
    "any patient, as the PAS must",
)
def test_a_ward_gateway_cannot_pull_another_wards_patient_and_discharge_them(
    surg1_alert: tuple[OnlineScorer, str],
) -> None:
    scorer, alert_id = surg1_alert
    # All on MED1's topics: what gw-MED1 (or a device hub given a gateway identity) may send.
    out = scorer.handle(
        [adt("MED1", "9", "S", "transfer", 120), adt("MED1", "9", "S", "discharge", 180)]
    )
    closed = [e for e in events(out) if e.alert_id == alert_id and e.state == "resolved"]
    assert closed == [], f"SURG1's open alert was closed from MED1's topics: {closed[0].reason!r}"
    assert scorer.patient_in("SURG1", "4") == "S"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="review14 F2: msg_id dedupe is hospital-wide; a MED1 device that sends, for its own "
    "patient, a set with the msg_id another ward's monitor will use next (HL7 MSH-10 control "
    "ids are often counters) makes that ward's real set a 'conflict' dead letter: not scored, "
    "no alert",
)
def test_a_ward_device_cannot_squat_another_wards_message_ids(
    charts: ChartSet,
) -> None:
    scorer = OnlineScorer(charts)
    scorer.handle([adt("SURG1", "4", "S", "admit", 0), adt("MED1", "1", "M", "admit", 0)])
    # dev-MED1-wearables: a normal set for its own patient, under SURG1's next control id.
    squat = scorer.handle([obs("MED1", "1", "M", NORMAL, 50, "surg1-obs-0001")])
    assert not squat.dead_letters
    # SURG1's monitor, moments later: the patient is NEWS2 8.
    real = scorer.handle([obs("SURG1", "4", "S", HIGH, 60, "surg1-obs-0001")])
    assert [e.ward for e in events(real)] == ["SURG1"], "SURG1's NEWS2 8 raised nothing"


def test_an_acknowledgement_cannot_claim_a_verified_clinician_it_does_not_come_from(
    surg1_alert: tuple[OnlineScorer, str],
) -> None:
    """Review of issue 14, F3, fixed: an identity is believed only when a wallboard server
    signed it with the key it shares with the scorer (`[broker] action_key_env`)."""
    scorer, alert_id = surg1_alert
    # What pager-gateway may publish (tests/ingest/test_locked_broker.py: pager-acknowledgement).
    forged = {
        "subject": "f3a9c2e1-dr-ada",
        "issuer": "https://login.hospital.example/realms/staff",
        "name": "Dr Ada Lovelace",
        "role": "outreach on all wards",
    }
    topic = f"wards/SURG1/alerts/{alert_id}/ack"
    out = scorer.handle(
        [arrive(topic, 90, msg_id="pager-1", by="Dr Ada Lovelace", via="bleep", identity=forged)]
    )
    [acked] = [e for e in events(out) if e.state == "acknowledged"]
    assert acked.identity is None, f"recorded as verified: {acked.identity}"
    assert acked.by == "Dr Ada Lovelace (identity not verified)"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="review14 F9: alert ids are built from the sender's msg_id (score-{obs_msg_id}) and "
    "boards show obs_msg_id: an interface engine whose control ids embed the MRN/NHS number "
    "puts it on every ward board, the outreach console and the action URLs",
)
def test_a_senders_message_id_never_reaches_a_board(charts: ChartSet) -> None:
    from wallboard import WardBoard  # noqa: PLC0415 - only this test reads a board

    scorer = OnlineScorer(charts)
    board = WardBoard()
    sent = [adt("SURG1", "4", "S", "admit", 0), obs("SURG1", "4", "S", HIGH, 60, "9434765919-0901")]
    for publication in scorer.handle(sent[:1]).publications + scorer.handle(sent[1:]).publications:
        board.apply(publication.topic, publication.payload)
    shown = msgspec.json.encode([board.snapshot("SURG1"), board.outreach_snapshot()])
    assert b"9434765919" not in shown
