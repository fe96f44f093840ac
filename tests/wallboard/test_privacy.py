"""Privacy by construction (issue 14): no ward-board payload carries who the patient is.

Every payload a ward board or the outreach console receives (the HTTP snapshot, the websocket
snapshot and every change frame, as the server encodes them) is searched, byte by byte, for the
patient id, the birth date and its year, and the equity fields of CONTRACT §2 (`sex`,
`ethnicity`, `imd_decile`, `needs`, `gestation_weeks`, `postnatal_days`). The messages are
drawn by Hypothesis in any order (ADT with every optional field, scores, plans, alert events,
clock ticks, across wards and beds, repeats and transfers included), and, separately, are the
real scorer's output for a patient taken through every kind of alert.

The patient view's history API (behind login, audited) is the one place identifiers are given:
`WardBoard.occupant`, checked here to carry them, so the search cannot pass by looking in
the wrong place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import parse
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings, Output
from tests.surveillance.test_online import HIGH, NORMAL
from wallboard import BrokerFeed, Change

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WARDS = ("7A", "8B")
BEDS = ("1", "2", "12")
EQUITY = ("sex", "ethnicity", "imd_decile", "needs", "gestation_weeks", "postnatal_days")


def at(minute: float) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat()


class Scan:
    """Every payload a ward board or the outreach console was sent, encoded as sent."""

    def __init__(self, feed: BrokerFeed) -> None:
        self.feed = feed
        self.payloads: list[bytes] = []

    def handle(self, topic: str, payload: bytes) -> None:
        self.frames(self.feed.handle(topic, payload))

    def tick(self) -> None:
        self.frames(self.feed.tick())

    def frames(self, changes: list[Change]) -> None:
        """Each stream's change frame (as `BrokerFeed._flush` encodes it), then snapshots."""
        streams: dict[str | None, list[Change]] = {}
        for change in changes:
            streams.setdefault(change.ward, []).append(change)
        for stream, its in streams.items():
            self.payloads.append(msgspec.json.encode(self.feed.frame(stream, its)))

    def snapshots(self) -> None:
        """The websocket snapshots of every ward and the outreach stream, the HTTP snapshot of
        every ward (`GET /api/wards/{ward}`), and the backlog a reconnecting board gets."""
        for ward in [*self.feed.board.wards(), None]:
            self.payloads.append(msgspec.json.encode(self.feed.snapshot(ward)))
            backlog = self.feed.changes_since(ward, 0)
            if backlog:
                self.payloads.append(msgspec.json.encode(self.feed.frame(ward, backlog)))
            if ward is not None:
                self.payloads.append(msgspec.json.encode(self.feed.board.snapshot(ward)))


def leaks(payload: bytes, patient_id: str, born: date) -> list[str]:
    """What in `payload` identifies the patient: their id, birth date or year, an equity key."""
    found = []
    if patient_id.encode() in payload:
        found.append(f"patient id {patient_id}")
    if born.isoformat().encode() in payload:
        found.append(f"birth date {born}")
    # The year as a JSON value (as `"birth_year": 1948` was), not any four digits in a token.
    if re.search(rb"[:\[,]\s*\"?%d\"?\s*[,}\]]" % born.year, payload):
        found.append(f"birth year {born.year}")
    found += [f"key {key}" for key in (*EQUITY, "birth") if f'"{key}'.encode() in payload]
    return found


def new_feed() -> BrokerFeed:
    """A feed that is never started (no connection): `handle` and `tick` only."""
    return BrokerFeed("127.0.0.1", 1, clock=lambda: T0 + timedelta(hours=3))


# ---- drawn messages ------------------------------------------------------------------------

PATIENT_IDS = st.from_regex(r"(NHS|MRN)[0-9]{7}", fullmatch=True)
BIRTH_DATES = st.dates(date(1920, 1, 1), date(2025, 12, 31))


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    """One patient's ADT fields: every optional field of CONTRACT §2, equity ones included."""
    cohort = draw(st.sampled_from(["adult", "child", "maternity"]))
    fields: dict[str, Any] = {
        "patient_id": draw(PATIENT_IDS),
        "cohort": cohort,
        "birth_date": draw(BIRTH_DATES).isoformat(),
        "spo2_scale": draw(st.sampled_from([1, 2])),
        "initials": draw(st.sampled_from(["JS", "AB", "Kö", "MRJ"])),
        "sex": draw(st.sampled_from(["1", "2", "9", "X"])),
        "ethnicity": draw(st.sampled_from(["A", "C", "H", "N", "Z", "99"])),
        "imd_decile": draw(st.integers(1, 10)),
        "needs": draw(st.lists(st.sampled_from(["autism", "dementia", "mental-health"]))),
    }
    if cohort == "child":
        fields["age_band"] = draw(st.sampled_from(["0-11m", "1-4y", "5-12y", "13+y"]))
    if cohort == "maternity":
        key = draw(st.sampled_from(["gestation_weeks", "postnatal_days"]))
        fields[key] = draw(st.integers(1, 40))
    return fields


@st.composite
def messages(draw: st.DrawFn, people: list[dict[str, Any]]) -> tuple[str, bytes] | None:
    """One message about one of `people` (None: a clock tick); msg ids are opaque."""
    person = draw(st.sampled_from(people))
    pid = person["patient_id"]
    ward, bed = draw(st.sampled_from(WARDS)), draw(st.sampled_from(BEDS))
    minute = draw(st.integers(0, 120))
    n = draw(st.integers(0, 10**6))
    kind = draw(st.sampled_from(["adt", "adt", "score", "score", "plan", "alert", "tick"]))
    where = f"wards/{ward}/beds/{bed}"
    if kind == "tick":
        return None
    if kind == "adt":
        event = draw(st.sampled_from(["admit", "admit", "transfer", "discharge"]))
        body = {"msg_id": f"m-{n}", "time": at(minute), "event": event, **person}
        return f"{where}/adt", msgspec.json.encode(body)
    if kind == "score":
        total = draw(st.integers(0, 20))
        body = {
            "patient_id": pid,
            "ward": ward,
            "bed": bed,
            "time": at(minute),
            "obs_msg_id": f"o-{n}",
            "system": "NEWS2",
            "chart": "news2",
            "total": total,
            "parameters": {"resp_rate": min(total, 3)},
            "risk": "high" if total >= 7 else "low",
            "complete": True,
            "missing": [],
            "next_obs_due": at(minute + 60),
            "obs_interval_minutes": 60,
            "spo2_scale": person["spo2_scale"],
            "vitals": {"resp_rate": 22, "spo2": 95},
        }
        if draw(st.booleans()):  # a learned estimate (issue 15) that says too much
            body["learned_risk"] = {
                "probability": draw(st.floats(0, 1)),
                "horizon_hours": 24,
                "reasons": draw(
                    st.lists(st.sampled_from(["RR rising over 6 h", f"like {pid} before"]))
                ),
                "model": "river-logistic 3",
                "shadow": True,
                "patient_id": pid,
                "birth_date": person["birth_date"],
                "sex": person["sex"],
            }
        return f"{where}/score", msgspec.json.encode(body)
    if kind == "plan":
        body = {
            "msg_id": f"p-{n}",
            "patient_id": pid,
            "time": at(minute),
            "by": "Dr Reg",
            "reason": "agreed with family",
            "ceiling": draw(st.sampled_from([None, "ward", "no-cpr"])),
            "alert_from": draw(st.sampled_from([None, "urgent"])),
        }
        return f"{where}/plan", msgspec.json.encode(body)
    state = draw(st.sampled_from(["raised", "escalated", "acknowledged", "resolved"]))
    body = {
        "alert_id": f"a-{draw(st.integers(0, 5))}",
        "patient_id": pid,
        "ward": ward,
        "bed": bed,
        "time": at(minute),
        "kind": "score",
        "severity": "urgent",
        "state": state,
        "message": "NEWS2 5 (medium): urgent response",
        "obs_msg_id": f"o-{n}",
        "by": "Sam (outreach)" if state == "acknowledged" else None,
    }
    return f"wards/{ward}/alerts", msgspec.json.encode(body)


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, bytes] | None]]:
    people = draw(st.lists(patients(), min_size=1, max_size=4, unique_by=lambda p: p["patient_id"]))
    return people, draw(st.lists(messages(people), min_size=1, max_size=40))


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_no_ward_board_payload_carries_an_identifier(
    scene: tuple[list[dict[str, Any]], list[tuple[str, bytes] | None]],
) -> None:
    people, sequence = scene
    scan = Scan(new_feed())
    for message in sequence:
        if message is None:
            scan.tick()
        else:
            scan.handle(*message)
    scan.snapshots()
    for person in people:
        born = date.fromisoformat(person["birth_date"])
        for payload in scan.payloads:
            assert leaks(payload, person["patient_id"], born) == [], payload


def test_the_search_finds_what_it_looks_for() -> None:
    """The scan can fail: the raw ADT message and the history API's occupant carry all of it."""
    person = {"patient_id": "NHS1234567", "birth_date": "1948-03-02", "sex": "2"}
    raw = msgspec.json.encode({"msg_id": "m", "time": at(0), "event": "admit", **person})
    assert leaks(raw, "NHS1234567", date(1948, 3, 2)) == [
        "patient id NHS1234567",
        "birth date 1948-03-02",
        "key sex",
        "key birth",
    ]
    assert leaks(b'{"birth_year":1948}', "x", date(1948, 3, 2)) == ["birth year 1948", "key birth"]
    feed = new_feed()
    feed.handle("wards/7A/beds/1/adt", raw)
    occupant = feed.board.occupant("7A", "1")
    assert occupant is not None
    assert (occupant["patient_id"], occupant["birth_date"]) == ("NHS1234567", "1948-03-02")
    assert (
        leaks(msgspec.json.encode(feed.board.snapshot("7A")), "NHS1234567", date(1948, 3, 2)) == []
    )


def test_a_bed_tells_its_occupants_apart_without_the_id() -> None:
    """`placement` changes when another patient takes the bed (the patient view reloads its
    history on it), is the same for the same patient, and differs between beds and boards."""
    feed, other = new_feed(), new_feed()

    def admit(board: BrokerFeed, pid: str, bed: str, minute: int) -> str:
        body = {"msg_id": f"m-{pid}-{minute}", "time": at(minute), "event": "admit"}
        board.handle(f"wards/7A/beds/{bed}/adt", msgspec.json.encode(body | {"patient_id": pid}))
        view = next(b for b in board.board.snapshot("7A")["beds"] if b["bed"] == bed)
        token: str = view["patient"]["placement"]
        return token

    first = admit(feed, "NHS0000001", "1", 0)
    assert admit(feed, "NHS0000001", "1", 1) == first  # the same patient, an ADT update
    second = admit(feed, "NHS0000002", "1", 2)
    assert second != first
    assert admit(feed, "NHS0000001", "2", 3) not in (first, second)  # moved: a new bed
    assert admit(other, "NHS0000002", "1", 2) != second  # another server's own key
    assert (feed.board.occupant("7A", "1") or {})["placement"] == second


# ---- the real scorer's output ---------------------------------------------------------------

PID, BORN = "NHS9434765919", date(1951, 7, 19)


def _arrival(topic: str, body: dict[str, Any], minute: float) -> Arrival:
    payload = msgspec.json.encode(body)
    return Arrival(parse(topic, payload), topic, payload, T0 + timedelta(minutes=max(minute, 0)))


def _scorer_messages(charts: ChartSet) -> Iterator[tuple[str, bytes]]:
    """A patient with suspected infection taken through every kind of alert and state: what
    the board reads of it (the ADT, the plan, the scorer's scores and alert events)."""
    scorer = OnlineScorer(charts, OnlineSettings(device_persistence=0, feed_timeout=300))
    bed = "wards/7A/beds/12"

    def feed(*arrivals: Arrival) -> Iterator[tuple[str, bytes]]:
        for arrival in arrivals:
            if arrival.topic.endswith(("/adt", "/plan")):
                yield arrival.topic, arrival.payload
        yield from _published(scorer.handle(list(arrivals)))

    admit = {
        "msg_id": "adt-1",
        "time": at(0),
        "event": "admit",
        "patient_id": PID,
        "cohort": "adult",
        "birth_date": BORN.isoformat(),
        "initials": "JS",
        "infection": "suspected",
        "sex": "2",
        "ethnicity": "C",
        "imd_decile": 2,
    }
    yield from feed(_arrival(f"{bed}/adt", admit, 0))
    lab = {"msg_id": "lab-0", "patient_id": PID, "test": "creatinine", "unit": "umol/L"}
    yield from feed(_arrival(f"{bed}/labs", lab | {"time": at(-2 * 1440), "value": 80.0}, 0))
    obs = {"msg_id": "set-high", "patient_id": PID, "time": at(1), "source": "manual"}
    yield from feed(_arrival(f"{bed}/obs", obs | {"vitals": HIGH}, 1))
    device = {"msg_id": "dev-2", "patient_id": PID, "time": at(2), "source": "wearable"}
    yield from feed(_arrival(f"{bed}/obs", device | {"vitals": {"heart_rate": 120}}, 2))
    yield from feed(
        _arrival(f"{bed}/labs", lab | {"msg_id": "lab-1", "time": at(3)} | {"value": 300.0}, 3)
    )
    plan = {
        "msg_id": "plan-1",
        "patient_id": PID,
        "time": at(4),
        "by": "Dr Reg",
        "reason": "agreed with the patient",
        "ceiling": "ward",
    }
    yield from feed(_arrival(f"{bed}/plan", plan, 4))
    for minute in range(5, 180, 2):  # feed silent, escalations, the set overdue then missed
        yield from _published(scorer.tick(T0 + timedelta(minutes=minute)))
    normal = {"msg_id": "set-normal", "patient_id": PID, "time": at(181), "source": "manual"}
    yield from feed(_arrival(f"{bed}/obs", normal | {"vitals": NORMAL}, 181))
    yield from feed(
        _arrival(
            f"{bed}/adt", admit | {"msg_id": "adt-2", "event": "discharge", "time": at(182)}, 182
        )
    )


def _published(out: Output) -> Iterator[tuple[str, bytes]]:
    for publication in out.publications:
        if "/deadletter" not in publication.topic:
            yield publication.topic, publication.payload


def test_the_real_scorers_output_reaches_no_board_with_an_identifier(charts: ChartSet) -> None:
    scan = Scan(new_feed())
    alerts: list[dict[str, Any]] = []
    for topic, payload in _scorer_messages(charts):
        if topic.endswith("/alerts"):
            alerts.append(msgspec.json.decode(payload))
        scan.handle(topic, payload)
        if topic.endswith("/score"):
            scan.snapshots()  # the patient is in the bed, with a score, alerts and a plan
        scan.tick()
    assert {a["kind"] for a in alerts} >= {"score", "sepsis", "aki", "feed", "overdue"}
    assert all(a["patient_id"] == PID for a in alerts)  # the scorer's events name the patient
    assert scan.feed.board.rejected == {}
    for payload in scan.payloads:
        assert leaks(payload, PID, BORN) == [], payload
