"""A restart changes nothing (issue 12): the same stream, with and without a `kill -9`.

The scorer's state is committed with each batch's records (`StateRecord`s and the accepted
msg_ids, in the same transaction); a killed service loses what it had not committed, resumes
from the store, and the broker redelivers every input it had not acknowledged. These tests
model exactly that, purely: a store that keeps what was committed (through a JSON round trip,
as a database would), kills after any step with 0–3 steps not yet committed, and redelivery
of those steps. The alert events, scores and dead letters must be those of a run that was
never interrupted, to the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import Rejected
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings, Output, content_digest
from surveillance.store import StoredState
from tests.surveillance.test_live_core import action, adt, reading
from tests.surveillance.test_online import HIGH, MEDIUM, NORMAL, at

Step = tuple[str, Any]  # ("batch", [Arrival]) or ("tick", seconds)

SETTINGS = OnlineSettings(device_persistence=60, feed_timeout=300, hysteresis=1200)
LOW = {**NORMAL, "resp_rate": 21}  # NEWS2 2
RED = {**NORMAL, "resp_rate": 26}  # NEWS2 3 in one parameter
SETS = [NORMAL, LOW, MEDIUM, HIGH, RED]
DEVICE = [
    {"heart_rate": 72, "resp_rate": 16, "spo2": 97},
    {"heart_rate": 118, "resp_rate": 23, "spo2": 93},
    {"heart_rate": 135, "resp_rate": 27, "spo2": 90},
]


@dataclass
class Committed:
    """What the store holds: only what was committed, as JSON, as a database would."""

    states: dict[str, Any] = field(default_factory=dict)
    accepted: dict[str, tuple[str, Any]] = field(default_factory=dict)
    records: dict[tuple[str, str], Any] = field(default_factory=dict)

    def commit(self, out: Output) -> None:
        batch = out.batch
        for state in batch.latest_states():
            if state.state is None:
                self.states.pop(state.key, None)
            else:
                self.states[state.key] = msgspec.json.decode(state.state)
        for record in batch.accepted:
            self.accepted[record.msg_id] = (record.digest, record.received_at)  # replaced
        for alert in batch.alerts:  # idempotent on their keys, like the tables
            event = msgspec.json.decode(alert.event)
            self.records.setdefault(("alert", f"{alert.alert_id}#{alert.seq}"), event)
        for score in batch.scores:
            self.records.setdefault(("score", score.obs_msg_id), msgspec.json.decode(score.result))
        for letter in batch.dead_letters:
            self.records.setdefault(("dead", letter.digest), (letter.error, letter.reason))

    def stored(self, now: float) -> StoredState:
        """What `load_state` gives a service starting at `now`: ids of the dedupe window."""
        since = at(now - SETTINGS.dedupe_window)
        accepted = {k: v for k, v in self.accepted.items() if v[1] >= since}
        return StoredState([], [], [], set(), accepted=accepted, scorer_state=self.states)


def apply(scorer: OnlineScorer, step: Step) -> Output:
    kind, value = step
    return scorer.handle(value) if kind == "batch" else scorer.tick(at(value))


def run(charts: ChartSet, steps: list[Step], kills: set[int], lag: int) -> Committed:
    """Run the stream; after each step in `kills` the service dies with the outputs of its
    last `lag` steps uncommitted, restarts from the store and gets those steps again."""
    store = Committed()
    scorer = OnlineScorer(charts, SETTINGS)
    waiting: list[tuple[Step, Output]] = []
    for index, step in enumerate(steps):
        waiting.append((step, apply(scorer, step)))
        while len(waiting) > lag:
            store.commit(waiting.pop(0)[1])
        if index in kills:
            redelivered = [s for s, _ in waiting]  # never acknowledged: the broker sends again
            scorer = OnlineScorer(charts, SETTINGS)
            restart = _clock(redelivered[0] if redelivered else step)
            scorer.restore(store.stored(restart), now=at(restart))
            waiting = [(s, apply(scorer, s)) for s in redelivered]
    for _, out in waiting:
        store.commit(out)
    return store


def _clock(step: Step) -> float:
    kind, value = step
    if kind == "tick":
        return float(value)
    first: Arrival = value[0]
    return (first.received - at(0)).total_seconds()


@st.composite
def streams(draw: st.DrawFn) -> list[Step]:
    """Three beds, a few patients, a day of nurses' sets, wearables, people acting on alerts,
    ticks, repeats, conflicting ids and messages out of time."""
    t = 0.0
    steps: list[Step] = []
    batch: list[Arrival] = []
    placed: dict[str, str] = {}
    sent: list[Arrival] = []
    obs_ids: list[str] = []
    for n in range(draw(st.integers(5, 45))):
        t += draw(st.sampled_from([0, 5, 30, 61, 300, 900, 2400]))
        kind = draw(
            st.sampled_from(
                [
                    *("admit", "set", "set", "device", "device", "ack", "resolve", "tick"),
                    *("repeat", "conflict", "future", "discharge", "cut", "hostile"),
                ]
            )
        )
        patient = draw(st.sampled_from(["P1", "P2", "P3", "P4"]))
        bed = draw(st.sampled_from(["1", "2", "3"]))
        arrival: Arrival | None = None
        if kind == "admit" or not placed:
            arrival = adt(patient, t=t, bed=bed, msg_id=f"adt-{n}")
            placed = {p: b for p, b in placed.items() if b != bed and p != patient}
            placed[patient] = bed
        elif kind in ("set", "device", "future"):
            patient = draw(st.sampled_from(sorted(placed)))
            vitals: dict[str, Any] = draw(st.sampled_from(DEVICE if kind == "device" else SETS))
            source = "wearable" if kind == "device" else "manual"
            stamp = at(t + 86400).isoformat() if kind == "future" else None
            arrival = reading(
                vitals,
                t=t,
                msg_id=f"o{n}",
                patient=patient,
                bed=placed[patient],
                source=source,
                time=stamp,
            )
            obs_ids.append(f"o{n}")
        elif kind in ("ack", "resolve") and obs_ids:
            target = draw(st.sampled_from(obs_ids))
            extra = {"reason": "seen, treated"} if kind == "resolve" else {}
            arrival = action(f"score-{target}", kind, t=t, msg_id=f"c{n}", **extra)
        elif kind == "discharge":
            patient = draw(st.sampled_from(sorted(placed)))
            arrival = adt(
                patient, t=t, bed=placed.pop(patient), msg_id=f"dis-{n}", event="discharge"
            )
        elif kind == "repeat" and sent:
            arrival = draw(st.sampled_from(sent))
        elif kind == "hostile":  # any time at all, any id at all, on a placed bed or not
            when = draw(
                st.datetimes(
                    min_value=datetime(1, 1, 2),
                    max_value=datetime(9999, 12, 30),
                    timezones=st.just(UTC),
                )
            )
            arrival = reading(
                draw(st.sampled_from(SETS)),
                t=t,
                msg_id=draw(st.text(max_size=140)),
                patient=patient,
                bed=bed,
                time=when.isoformat(),
            )
        elif kind == "conflict" and obs_ids:
            patient = draw(st.sampled_from(sorted(placed)))
            arrival = reading(
                HIGH,
                t=t,
                msg_id=draw(st.sampled_from(obs_ids)),
                patient=patient,
                bed=placed[patient],
            )
        if arrival is not None:
            if kind == "repeat":  # a redelivery arrives now, with the same bytes
                arrival = Arrival(arrival.item, arrival.topic, arrival.payload, at(t))
            batch.append(arrival)
            sent.append(arrival)
        if kind in ("tick", "cut") and batch:
            steps.append(("batch", batch))
            batch = []
        if kind == "tick":
            steps.append(("tick", t))
    if batch:
        steps.append(("batch", batch))
    steps.append(("tick", t + 4 * 3600))  # long enough for every ladder and timer to act
    return steps


def summary(store: Committed) -> dict[tuple[str, str], Any]:
    return store.records


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(stream=streams(), data=st.data())
def test_a_kill_at_any_moment_changes_no_alert(
    charts: ChartSet, stream: list[Step], data: st.DataObject
) -> None:
    kills = set(data.draw(st.sets(st.integers(0, len(stream) - 1), max_size=4), label="kills"))
    lag = data.draw(st.integers(0, 3), label="uncommitted steps at a kill")
    uninterrupted = run(charts, stream, set(), 0)
    killed = run(charts, stream, kills, lag)
    assert summary(killed) == summary(uninterrupted)
    assert killed.states == uninterrupted.states


def test_the_stream_exercises_what_a_restart_could_change(charts: ChartSet) -> None:
    """Not a vacuous property: a fixed stream with a device hold, a quiet period, hysteresis
    and an escalation, killed in the middle of each, still matches."""
    device = [
        reading(DEVICE[1], t=100 + i * 30, msg_id=f"d{i}", bed="1", source="wearable")
        for i in range(4)
    ]
    new_red = {**HIGH, "spo2": 91}
    stream: list[Step] = [
        ("batch", [adt("P1", t=0, bed="1", msg_id="a1")]),
        ("batch", device[:2]),  # a device rise, held for device_persistence
        ("batch", device[2:]),  # held long enough: alerted
        ("tick", 400),
        ("batch", [reading(HIGH, t=500, msg_id="m1", bed="1")]),  # higher: upgraded
        ("tick", 1200),  # the upgraded alert climbs the emergency ladder
        ("batch", [action("score-d2", "ack", t=1300, msg_id="c1")]),  # starts the quiet period
        ("batch", [reading(new_red, t=1400, msg_id="m2", bed="1")]),  # held back by the quiet
        ("tick", 2200),  # the device is silent: a feed alert
        ("batch", [reading(NORMAL, t=2300, msg_id="m3", bed="1")]),  # below: hysteresis starts
        ("batch", [reading(NORMAL, t=3000, msg_id="m4", bed="1")]),
        ("tick", 3400),
        ("batch", [reading(NORMAL, t=3600, msg_id="m5", bed="1")]),  # hysteresis over
        ("tick", 20000),
    ]
    whole = run(charts, stream, set(), 0)
    events = [e for (kind, _), e in whole.records.items() if kind == "alert"]
    states = {(e["alert_id"], e["state"]) for e in events}
    assert ("score-d2", "raised") in states  # the device rise, after its hold
    assert any(e["upgrades"] == 1 for e in events)  # the set's rise upgraded it
    assert ("score-d2", "escalated") in states
    assert ("score-d2", "acknowledged") in states
    assert any("quiet" in (e.get("note") or "") for e in events)  # a repeat held back
    assert ("score-d2", "resolved") in states  # stood down once recovered (hysteresis)
    assert any(e["kind"] == "feed" for e in events)
    for lag in range(4):
        for kill in range(len(stream)):
            assert summary(run(charts, stream, {kill}, lag)) == summary(whole), (kill, lag)


def test_a_restart_that_forgot_a_hold_would_differ(charts: ChartSet) -> None:
    """The property can fail: a restart that loses the device-persistence hold (as when levels
    were rebuilt from the latest score) alerts differently."""
    stream: list[Step] = [
        ("batch", [adt("P1", t=0, bed="1", msg_id="a1")]),
        ("batch", [reading(DEVICE[2], t=100, msg_id="d0", bed="1", source="wearable")]),
        ("batch", [reading(DEVICE[2], t=170, msg_id="d1", bed="1", source="wearable")]),
    ]
    whole = run(charts, stream, set(), 0)
    assert ("alert", "score-d1#1") in whole.records
    store = Committed()
    scorer = OnlineScorer(charts, SETTINGS)
    for step in stream[:2]:
        store.commit(apply(scorer, step))
    assert store.states["patient:P1"]["patient"]["pending"] is not None
    store.states["patient:P1"]["patient"]["pending"] = None  # forget the hold
    forgetful = OnlineScorer(charts, SETTINGS)
    forgetful.restore(store.stored(170), now=at(170))
    store.commit(apply(forgetful, stream[2]))
    assert summary(store) != summary(whole)


def test_hours_pass_between_kill_and_restart_as_they_would_have(charts: ChartSet) -> None:
    """A service down for an hour catches up on its first tick: every rung in order."""
    stream: list[Step] = [
        ("batch", [adt("P1", t=0, bed="1", msg_id="a1")]),
        ("batch", [reading(MEDIUM, t=60, msg_id="m1", bed="1")]),
        ("tick", 120),
        ("tick", 60 + timedelta(hours=2).total_seconds()),
    ]
    assert summary(run(charts, stream, {2}, 0)) == summary(run(charts, stream, set(), 0))


def test_ids_restored_in_any_order_are_forgotten_when_they_would_have_been(
    charts: ChartSet,
) -> None:
    """Found by the property above: the store gives the accepted ids in no particular order
    (and an id accepted again after it was forgotten kept its old place), while the scorer
    forgets oldest first and stops at the first id still within the window. Restored newest
    first, an old id outlived the window and its next, different, use became a `conflict`
    that an uninterrupted service would have accepted."""
    window = SETTINGS.dedupe_window
    first = reading(NORMAL, t=0, msg_id="o-old")
    later = reading(NORMAL, t=600, msg_id="o-new")
    fresh = OnlineScorer(charts, SETTINGS)
    fresh.handle([adt("P1", t=-60, msg_id="a1")])
    fresh.handle([first])
    fresh.handle([later])
    kept = fresh.snapshot()
    assert not isinstance(first.item, Rejected)
    assert not isinstance(later.item, Rejected)
    accepted = {  # newest first, as a database may give them
        "o-new": (content_digest(later.item), at(600)),
        "o-old": (content_digest(first.item), at(0)),
        "a1": ("", at(-60)),
    }
    restored = OnlineScorer(charts, SETTINGS)
    restored.restore(
        StoredState([], [], [], set(), accepted=accepted, scorer_state=kept), now=at(700)
    )
    reused = reading(HIGH, t=window + 300, msg_id="o-old")  # the window has passed for o-old
    for scorer in (fresh, restored):
        scorer.tick(at(window + 300))
        out = scorer.handle([reused])
        assert out.dead_letters == 0, "an id outside the window is free to be used again"
        assert [s.obs_msg_id for s in out.batch.scores] == ["o-old"]
