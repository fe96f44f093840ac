"""People acting on alerts: acknowledgements and resolutions, from MQTT through ingest to the
scorer's alert events, and what is refused (with its reason, never silently)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from ingest import AlertAction, Rejected, parse, sign_identity
from scoring import ChartSet
from simulators import respond
from surveillance import Arrival, OnlineScorer, OnlineSettings
from surveillance.store import StoredState
from tests.surveillance.test_online import (
    HIGH,
    MEDIUM,
    NORMAL,
    WARD,
    admit,
    alerts,
    at,
    dead,
    device,
    obs,
    scores,
)


def command(**fields: Any) -> bytes:
    return msgspec.json.encode(
        {"msg_id": "c-1", "time": "2026-11-22T09:05:00Z", "by": "Sister Jones", **fields}
    )


@pytest.mark.parametrize(
    ("topic", "payload", "error", "says"),
    [
        ("wards/7A/alerts/a-1/resolve", command(), "invalid", "`reason` is required"),
        ("wards/7A/alerts/a-1/resolve", command(reason="  "), "invalid", "`reason` is required"),
        ("wards/7A/alerts/a-1/ack", command(by=""), "invalid", "by"),
        ("wards/7A/alerts/a-1/ack", command(by="   "), "invalid", "`by` is blank"),
        ("wards/7A/alerts/a-1/ack", command(who="x"), "invalid", "unknown field"),
        ("wards/7A/alerts/a-1/ack", b'{"by": "x"}', "invalid", "msg_id"),
        ("wards/7A/alerts/a-1/ack", b"ack!", "not-json", "not JSON"),
        ("wards/7A/alerts/a-1/silence", command(), "topic", "alerts/{alert_id}/{ack|resolve}"),
        ("wards/7A/alerts/+/ack", command(), "topic", "not an input topic"),
    ],
)
def test_what_ingest_refuses(topic: str, payload: bytes, error: str, says: str) -> None:
    refused = parse(topic, payload)
    assert isinstance(refused, Rejected)
    assert refused.error == error
    assert says in refused.reason


def test_what_ingest_reads() -> None:
    read = parse("site/wards/7A/alerts/score-o1/resolve", command(reason="seen"), prefix="site/")
    assert isinstance(read, AlertAction)
    assert (read.ward, read.alert_id, read.action) == ("7A", "score-o1", "resolve")
    assert (read.command.by, read.command.reason, read.msg_id) == ("Sister Jones", "seen", "c-1")


def act(
    alert_id: str, action: str, *, t: float, msg_id: str, ward: str = WARD, **fields: Any
) -> Arrival:
    topic = f"wards/{ward}/alerts/{alert_id}/{action}"
    payload = command(msg_id=msg_id, **fields)
    return Arrival(parse(topic, payload), topic, payload, at(t))


@pytest.fixture
def raised(charts: ChartSet) -> OnlineScorer:
    """A patient with an open score alert `score-m1` (NEWS2 6, urgent)."""
    s = OnlineScorer(charts)
    s.handle([admit()])
    [event] = alerts(s.handle([obs(MEDIUM, t=60, msg_id="m1")]))
    assert (event.alert_id, event.state) == ("score-m1", "raised")
    return s


def test_acknowledge_then_resolve(raised: OnlineScorer) -> None:
    out = raised.handle([act("score-m1", "ack", t=120, msg_id="c-1", via="outreach")])
    [acked] = alerts(out)
    assert (acked.state, acked.by, acked.via, acked.action_msg_id) == (
        "acknowledged",
        "Sister Jones",
        "outreach",
        "c-1",
    )
    assert (acked.seq, acked.raised_at, acked.time) == (2, at(60), at(120))
    assert acked.message.startswith("NEWS2 6 (medium)")  # what the alert is about stays
    [record] = out.batch.alerts
    assert (record.state, msgspec.json.decode(record.event)["by"]) == (
        "acknowledged",
        "Sister Jones",
    )

    out = raised.handle([act("score-m1", "resolve", t=300, msg_id="c-2", reason=" reviewed ")])
    [resolved] = alerts(out)
    assert (resolved.state, resolved.reason, resolved.seq) == ("resolved", "reviewed", 3)
    # Closed: acting on it again is refused, and said so.
    [letter] = dead(raised.handle([act("score-m1", "ack", t=400, msg_id="c-3")]))
    assert letter["error"] == "unknown-alert"


def test_a_second_acknowledgement_is_refused_with_who_did_it(raised: OnlineScorer) -> None:
    raised.handle([act("score-m1", "ack", t=120, msg_id="c-1")])
    out = raised.handle([act("score-m1", "ack", t=130, msg_id="c-2", by="Dr Who")])
    assert alerts(out) == []
    [letter] = dead(out)
    assert letter["error"] == "alert-state"
    assert "already acknowledged (by Sister Jones)" in letter["reason"]


def test_an_alert_may_be_resolved_without_being_acknowledged_first(raised: OnlineScorer) -> None:
    [event] = alerts(raised.handle([act("score-m1", "resolve", t=90, msg_id="c", reason="x")]))
    assert (event.state, event.seq) == ("resolved", 2)


@pytest.mark.parametrize(
    ("alert_id", "ward"), [("score-nope", WARD), ("score-m1", "9Z")], ids=["unknown", "ward"]
)
def test_an_action_on_no_such_open_alert_is_a_dead_letter(
    raised: OnlineScorer, alert_id: str, ward: str
) -> None:
    out = raised.handle([act(alert_id, "ack", t=120, msg_id="c-1", ward=ward)])
    assert alerts(out) == []
    [letter] = dead(out)
    assert letter["error"] == "unknown-alert"
    assert alert_id in letter["reason"]
    assert [record.error for record in out.batch.dead_letters] == ["unknown-alert"]


def test_a_repeated_command_is_processed_once(raised: OnlineScorer) -> None:
    once = act("score-m1", "ack", t=120, msg_id="c-1")
    out = raised.handle([once, once])
    assert (len(alerts(out)), out.duplicates, dead(out)) == (1, 1, [])


def test_a_feed_alert_can_be_acknowledged_too(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(feed_timeout=300))
    s.handle([admit(), device({"heart_rate": 80}, t=10)])
    [feed] = alerts(s.tick(at(400)))
    [acked] = alerts(s.handle([act(feed.alert_id, "ack", t=410, msg_id="c-1")]))
    assert (acked.kind, acked.state) == ("feed", "acknowledged")


def test_discharge_resolves_with_the_reason_and_the_system_as_actor(raised: OnlineScorer) -> None:
    [event] = alerts(raised.handle([admit(event="discharge", t=500)]))
    assert (event.state, event.by, event.reason) == ("resolved", "system", "patient discharged")


def test_an_acknowledgement_survives_a_restart(charts: ChartSet, raised: OnlineScorer) -> None:
    out = raised.handle([act("score-m1", "ack", t=120, msg_id="c-1")])
    [adt] = OnlineScorer(charts).handle([admit()]).batch.adt
    [acked] = out.batch.alerts
    resumed = OnlineScorer(charts)
    resumed.restore(StoredState([adt], [], [acked], set()))
    [letter] = dead(resumed.handle([act("score-m1", "ack", t=200, msg_id="c-9", by="Dr Who")]))
    assert "already acknowledged (by Sister Jones)" in letter["reason"]
    [resolved] = alerts(
        resumed.handle([act("score-m1", "resolve", t=300, msg_id="c-10", reason="ok")])
    )
    assert (resolved.seq, resolved.raised_at) == (3, at(60))


def test_continuous_readings_do_not_push_the_next_set_back(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(device_persistence=0))
    s.handle([admit()])
    [manual] = scores(s.handle([obs(NORMAL, t=0, msg_id="set")]))
    assert manual["next_obs_due"] == "2026-11-22T21:00:00Z"  # NEWS2 0: 12-hourly
    assert manual["last_manual_obs"] == "2026-11-22T09:00:00Z"
    assert manual["obs_interval_minutes"] == 720
    [later] = scores(s.handle([device({"heart_rate": 80}, t=3600)]))
    assert later["next_obs_due"] == manual["next_obs_due"]  # not 22:00
    assert later["last_manual_obs"] == manual["last_manual_obs"]
    # A rise on the devices brings the next set forward: the new level's interval.
    [worse] = scores(s.handle([device({**HIGH, "on_oxygen": False}, t=3660)]))
    due = at(0) + timedelta(minutes=worse["obs_interval_minutes"])
    assert worse["next_obs_due"] == due.isoformat().replace("+00:00", "Z")


def test_a_patient_on_devices_only_is_due_from_admission(charts: ChartSet) -> None:
    s = OnlineScorer(charts)
    s.handle([admit(t=0)])
    [score] = scores(s.handle([device(NORMAL, t=7200)]))
    assert score["last_manual_obs"] is None
    assert score["next_obs_due"] == "2026-11-22T21:00:00Z"


def test_simulated_responders_answer_most_alerts_and_leave_some_to_escalate() -> None:
    rng = random.Random(7)  # noqa: S311 - a simulation
    responses = [respond("outreach", rng) for _ in range(1000)]
    unanswered = sum(r.ack_after is None for r in responses)
    assert 100 < unanswered < 200  # about 15 %
    assert {r.by for r in responses} == {"Outreach RN Silva"}
    assert all(30 <= (r.ack_after or 30) <= 600 for r in responses)
    assert all(r.reason for r in responses)


@pytest.mark.parametrize("action", ["ack", "resolve"])
def test_an_action_on_a_severity_since_raised_is_refused_and_changes_nothing(
    raised: OnlineScorer, action: str
) -> None:
    """Someone answering the urgent page cannot acknowledge (or close) the emergency the alert
    has become under the same id: the command names what they saw, and is refused."""
    [upgraded] = alerts(raised.handle([obs(HIGH, t=90, msg_id="m2")]))
    assert (upgraded.alert_id, upgraded.severity, upgraded.state) == (
        "score-m1",
        "emergency",
        "raised",
    )
    stale = act("score-m1", action, t=120, msg_id="c-9", severity="urgent", reason="seen")
    out = raised.handle([stale])
    assert alerts(out) == []
    [letter] = out.batch.dead_letters
    assert letter.error == "alert-changed"
    assert "emergency now, not urgent" in letter.reason
    [held] = raised.desk.of_patient("P1")
    assert (held.severity, held.life.state) == ("emergency", "raised")
    current = act("score-m1", "ack", t=130, msg_id="c-10", severity="emergency")
    [acked] = alerts(raised.handle([current]))
    assert (acked.state, acked.severity) == ("acknowledged", "emergency")


def test_an_action_without_the_severity_seen_is_applied_as_before(raised: OnlineScorer) -> None:
    """The check is an extension: a gateway that does not send `severity` still acts."""
    alerts(raised.handle([obs(HIGH, t=90, msg_id="m2")]))
    [acked] = alerts(raised.handle([act("score-m1", "ack", t=120, msg_id="c-9")]))
    assert (acked.state, acked.severity) == ("acknowledged", "emergency")


IDENTITY = {
    "subject": "f3a9-user-42",
    "issuer": "https://idp.example.nhs.uk",
    "name": "Sam Patel",
    "role": "nurse on 7A",
}


KEY = b"k" * 32
"""The identity-signing key the wallboard servers share with the scorer."""


def signed(
    alert_id: str, action: str, *, t: float, msg_id: str, key: bytes, **fields: Any
) -> Arrival:
    """`act`, with the identity signed as a wallboard server signs it (`sign_identity`)."""
    unsigned = act(alert_id, action, t=t, msg_id=msg_id, **fields)
    assert isinstance(unsigned.item, AlertAction)
    signature = sign_identity(key, alert_id, action, unsigned.item.command)
    return act(alert_id, action, t=t, msg_id=msg_id, identity_sig=signature, **fields)


@pytest.fixture
def keyed(charts: ChartSet) -> OnlineScorer:
    """`raised`, on a scorer that knows the wallboard servers' signing key."""
    s = OnlineScorer(charts, OnlineSettings(action_key=KEY))
    s.handle([admit()])
    s.handle([obs(MEDIUM, t=60, msg_id="m1")])
    return s


def test_the_verified_identity_goes_with_the_action_into_the_event_and_the_audit(
    keyed: OnlineScorer,
) -> None:
    """A wallboard with login names the identity provider's subject (issue 14), signed: the
    event published and the record kept (the audit) carry it; a command without it still
    works."""
    by = "Sam Patel (nurse on 7A)"
    arrival = signed("score-m1", "ack", t=120, msg_id="c-1", key=KEY, by=by, identity=IDENTITY)
    [acked] = alerts(keyed.handle([arrival]))
    assert acked.by == by
    assert acked.identity is not None
    assert msgspec.to_builtins(acked.identity) == IDENTITY
    out = keyed.handle([act("score-m1", "resolve", t=300, msg_id="c-2", reason="seen")])
    [resolved] = alerts(out)
    assert resolved.identity is None  # a pager gateway's command: `by` alone
    assert resolved.by == "Sister Jones"


@pytest.mark.parametrize(
    ("key", "change"),
    [
        pytest.param(b"x" * 32, {}, id="signed-with-another-key"),
        pytest.param(KEY, {"by": "Dr Ada Lovelace (outreach)"}, id="by-changed-after-signing"),
        pytest.param(KEY, {"identity": {**IDENTITY, "name": "Dr Ada"}}, id="identity-changed"),
        pytest.param(None, {}, id="not-signed"),
    ],
)
def test_an_identity_not_signed_by_a_wallboard_server_is_not_believed(
    keyed: OnlineScorer, key: bytes | None, change: dict[str, Any]
) -> None:
    """Review of issue 14, F3: the broker lets a pager gateway publish actions too; an
    identity is recorded only with a valid signature, else the action is kept with `by`
    marked, and the identity dropped."""
    fields: dict[str, Any] = {"by": "Sam Patel (nurse on 7A)", "identity": IDENTITY}
    if key is None:
        arrival = act("score-m1", "ack", t=120, msg_id="c-1", **fields)
    else:
        good = signed("score-m1", "ack", t=120, msg_id="c-1", key=key, **fields)
        assert isinstance(good.item, AlertAction)
        tampered = {**fields, **change, "identity_sig": good.item.command.identity_sig}
        arrival = act("score-m1", "ack", t=120, msg_id="c-1", **tampered)
    [acked] = alerts(keyed.handle([arrival]))
    assert acked.state == "acknowledged"
    assert acked.identity is None
    assert (acked.by or "").endswith(" (identity not verified)")


def test_a_scorer_without_a_key_believes_no_identity(raised: OnlineScorer) -> None:
    arrival = signed(
        "score-m1", "ack", t=120, msg_id="c-1", key=KEY, by="Sam Patel", identity=IDENTITY
    )
    [acked] = alerts(raised.handle([arrival]))
    assert (acked.identity, acked.by) == (None, "Sam Patel (identity not verified)")


@pytest.mark.parametrize(
    "identity",
    [
        {**IDENTITY, "subject": ""},
        {**IDENTITY, "extra": "x"},
        {"subject": "s"},
    ],
)
def test_a_malformed_identity_is_refused(identity: dict[str, Any]) -> None:
    refused = parse("wards/7A/alerts/a-1/ack", command(identity=identity))
    assert isinstance(refused, Rejected)
    assert refused.error == "invalid"
