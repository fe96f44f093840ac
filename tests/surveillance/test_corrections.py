"""A correction replaces what it corrects: the snapshot, the published score, the chart; the
alert raised from the wrong value stays open, told of the correction."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import Observation
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings
from surveillance.online import superseded
from tests.factories import make_obs
from tests.surveillance.test_online import BED, NORMAL, WARD, admit, alerts, at, obs, scores

WRONG = {"resp_rate": 30, "spo2": 88, "heart_rate": 135}  # a monitor's misreading: NEWS2 high


def reading(
    vitals: dict[str, Any],
    *,
    t: float,
    msg_id: str,
    corrects: bool = False,
    received: float | None = None,
) -> Arrival:
    """A monitor's FHIR reading taken at `t`, arriving at `received` (default `t`); a
    correction corrects every vital it holds."""
    o = make_obs(vitals, time=at(t).isoformat(), msg_id=msg_id, source="monitor")
    fixed = tuple(sorted(vitals)) if corrects else ()
    item = Observation(WARD, BED, "fhir", o, corrected=fixed)
    arrived = at(t if received is None else received)
    return Arrival(item, f"wards/{WARD}/beds/{BED}/fhir", b"{}", arrived)


def scorer_of(charts: ChartSet, persistence: float = 60) -> OnlineScorer:
    s = OnlineScorer(charts, OnlineSettings(device_persistence=persistence, feed_timeout=300))
    s.handle([admit(), obs(NORMAL, t=0)])
    return s


def stored(scorer_out: Any) -> list[dict[str, Any]]:
    return [msgspec.json.decode(r.result) for r in scorer_out.batch.scores]


def test_a_correction_at_the_latest_time_replaces_the_published_score_and_the_snapshot(
    charts: ChartSet,
) -> None:
    s = scorer_of(charts)
    [wrong] = scores(s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")]))
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)]
    )
    [score] = scores(out)
    assert score["time"] == wrong["time"]  # same time: not late, it wins
    assert score["vitals"]["resp_rate"] == 16
    assert score["total"] < wrong["total"]
    assert score["corrects"] == ["o-1"]
    assert [p.retain for p in out.publications if p.topic.endswith("/score")] == [True]
    # Later snapshots carry the corrected value, not the wrong one.
    [later] = scores(s.handle([reading({"heart_rate": 72}, t=90, msg_id="o-2")]))
    assert later["vitals"]["resp_rate"] == 16
    assert "corrects" not in later


def test_a_correction_and_its_original_in_one_batch_the_correction_wins(charts: ChartSet) -> None:
    s = scorer_of(charts)
    out = s.handle(
        [
            reading({"resp_rate": 30}, t=60, msg_id="o-1"),
            reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True),
        ]
    )
    published = scores(out)
    assert [p["obs_msg_id"] for p in published] == ["o-1", "o-1/_history/2"]
    assert published[-1]["vitals"]["resp_rate"] == 16
    assert published[-1]["corrects"] == ["o-1"]


def test_a_correction_of_an_older_reading_is_stored_not_published(charts: ChartSet) -> None:
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")])
    s.handle([reading({"heart_rate": 80}, t=120, msg_id="o-2")])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=130)]
    )
    assert scores(out) == []  # late: the board keeps the latest score
    [kept] = stored(out)
    assert kept["obs_msg_id"] == "o-1/_history/2"
    assert kept["corrects"] == ["o-1"]
    assert [r.msg_id for r in out.batch.observations] == ["o-1/_history/2"]
    # The corrected value (held at its time, no newer one of that vital) feeds what follows.
    [later] = scores(s.handle([reading({"heart_rate": 80}, t=150, msg_id="o-3")]))
    assert later["vitals"]["resp_rate"] == 16


def test_a_correction_never_replaces_a_newer_reading(charts: ChartSet) -> None:
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")])
    s.handle([reading({"resp_rate": 20}, t=120, msg_id="o-2")])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=130)]
    )
    [kept] = stored(out)
    assert kept["corrects"] == []  # what it corrected is no longer held: said, not guessed
    [later] = scores(s.handle([reading({"heart_rate": 80}, t=150, msg_id="o-3")]))
    assert later["vitals"]["resp_rate"] == 20


def test_the_same_correction_delivered_again_is_a_duplicate(charts: ChartSet) -> None:
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")])
    again = reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)
    assert len(scores(s.handle([again]))) == 1
    out = s.handle([again])
    assert (out.duplicates, out.publications, out.dead_letters) == (1, [], 0)


def test_a_correction_to_a_worse_value_alerts_at_once(charts: ChartSet) -> None:
    s = scorer_of(charts, persistence=60)
    s.handle([reading({"resp_rate": 16}, t=60, msg_id="o-1")])
    out = s.handle([reading(WRONG, t=60, msg_id="o-1/_history/2", corrects=True, received=70)])
    [event] = alerts(out)  # checked by a person: no device persistence to wait for
    assert event.state == "raised"
    assert event.obs_msg_id == "o-1/_history/2"


@pytest.mark.parametrize("acknowledged", [False, True])
def test_an_alert_from_the_wrong_value_stays_open_and_is_told(
    charts: ChartSet, acknowledged: bool
) -> None:
    s = scorer_of(charts, persistence=0)
    [raised] = alerts(s.handle([reading(WRONG, t=60, msg_id="o-1")]))
    if acknowledged:
        s.desk.acknowledge(s.handle([]), s.desk.alerts[raised.alert_id], at(65), by="nurse")
    normal = {key: NORMAL[key] for key in WRONG}
    out = s.handle([reading(normal, t=60, msg_id="o-1/_history/2", corrects=True, received=70)])
    [note] = alerts(out)
    assert note.alert_id == raised.alert_id
    assert note.state == ("acknowledged" if acknowledged else "raised")  # not resolved
    assert note.note is not None
    assert note.note.startswith("corrected: o-1/_history/2")
    assert "stays open until a person resolves it" in note.note
    assert raised.alert_id in s.desk.alerts
    # Normal readings after it never stand an unacknowledged alert down by themselves.
    for t in range(90, 1000, 30):
        out = s.handle([reading({"heart_rate": 72}, t=t, msg_id=f"o-{t}")])
        assert all(e.state != "resolved" for e in alerts(out)) or acknowledged


def test_a_correction_that_raises_the_alert_higher_says_so_itself(charts: ChartSet) -> None:
    s = scorer_of(charts, persistence=0)
    medium = {"resp_rate": 25, "heart_rate": 112}  # NEWS2 5: urgent-ward
    [raised] = alerts(s.handle([reading(medium, t=60, msg_id="o-1")]))
    out = s.handle([reading(WRONG, t=60, msg_id="o-1/_history/2", corrects=True, received=70)])
    events = alerts(out)
    assert [e.alert_id for e in events] == [raised.alert_id]  # upgraded, no separate note
    assert events[0].obs_msg_id == "o-1/_history/2"
    assert events[0].severity != raised.severity


@pytest.mark.parametrize(
    ("results", "gone"),
    [
        ([], set()),
        ([{"obs_msg_id": "a"}, {"obs_msg_id": "b"}], set()),
        ([{"obs_msg_id": "a"}, {"obs_msg_id": "a/2", "corrects": ["a"]}], {0}),
        ([{"obs_msg_id": "a/2", "corrects": ["a"]}, {"obs_msg_id": "a"}], {1}),
        ([{"obs_msg_id": "a"}, {"obs_msg_id": "c", "corrects": []}], set()),
        (
            [{"obs_msg_id": "a"}, {"obs_msg_id": "b"}, {"obs_msg_id": "c", "corrects": ["a", "b"]}],
            {0, 1},
        ),
    ],
)
def test_the_chart_leaves_out_what_a_correction_replaced(
    results: list[dict[str, Any]], gone: set[int]
) -> None:
    assert superseded(results) == gone


RR = st.integers(min_value=5, max_value=40)
SPO2 = st.integers(min_value=80, max_value=100)
HR = st.integers(min_value=30, max_value=180)


@settings(max_examples=40)
@given(wrong=st.tuples(RR, SPO2, HR), right=st.tuples(RR, SPO2, HR), late=st.booleans())
def test_a_correction_replaces_its_value_and_never_closes_an_alert(
    charts: ChartSet, wrong: tuple[int, int, int], right: tuple[int, int, int], late: bool
) -> None:
    s = scorer_of(charts, persistence=0)
    keys = ("resp_rate", "spo2", "heart_rate")
    s.handle([reading(dict(zip(keys, wrong, strict=True)), t=60, msg_id="o-1")])
    if late:
        s.handle([reading({"temperature": 37.0}, t=90, msg_id="o-2")])
    before = set(s.desk.alerts)
    fixed = dict(zip(keys, right, strict=True))
    out = s.handle([reading(fixed, t=60, msg_id="o-1/_history/2", corrects=True, received=95)])
    assert before <= set(s.desk.alerts)  # nothing the wrong value raised was closed
    assert all(e.state != "resolved" for e in alerts(out))
    [kept] = stored(out)
    assert kept["corrects"] == ["o-1"]
    assert (scores(out) == []) == late  # published only when it is the latest
    [after] = scores(s.handle([reading({"temperature": 37.0}, t=120, msg_id="o-3")]))
    assert {key: after["vitals"][key] for key in keys} == fixed
