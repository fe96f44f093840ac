"""A review of corrections (issue 17) as a clinical-safety reviewer and an attacker: what a
forged or careless correction can and cannot do to a nurse's set, an alert, the chart, the
record and a restart. Pure (the scorer, the out formats): fast."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ingest import Observation, score_observation, score_oru
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings, StoreHistory
from surveillance.store import StoredState, open_store
from tests.factories import make_obs
from tests.surveillance.test_closing_the_loop import lab
from tests.surveillance.test_corrections import WRONG, reading, scorer_of, stored
from tests.surveillance.test_online import (
    BED,
    NORMAL,
    WARD,
    admit,
    alerts,
    at,
    dead,
    obs,
    scores,
)


@pytest.mark.parametrize("restart", [False, True])
def test_a_device_correction_does_not_replace_or_hide_a_nurses_set(
    charts: ChartSet, restart: bool
) -> None:
    """A monitor's (or anyone's on the bed's fhir topic) `corrected` reading at the time of a
    nurse's set must not take the nurse's value out of the snapshot, nor name the nurse's set
    in `corrects` (which hides it on the chart and, out to the record, overwrites its FHIR
    Observation with the device's score); after a restart too."""
    s = scorer_of(charts, persistence=0)
    nurse = {**NORMAL, "resp_rate": 27}  # the nurse counted 27 breaths a minute: NEWS2 RR 3
    [nurses] = scores(s.handle([obs(nurse, t=60, msg_id="n-1")]))
    if restart:
        resumed = OnlineScorer(charts, s.settings)
        resumed.restore(StoredState([], [], [], set(), scorer_state=s.snapshot()), at(65))
        s = resumed
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="d-1/_history/2", corrects=True, received=70)]
    )
    [kept] = stored(out)
    assert "n-1" not in kept["corrects"]
    [later] = scores(s.handle([reading({"heart_rate": 72}, t=90, msg_id="d-2")]))
    assert later["vitals"]["resp_rate"] == 27  # the nurse's count still stands
    assert nurses["obs_msg_id"] == "n-1"


def test_a_late_correction_is_no_sign_that_a_silent_device_is_sending(charts: ChartSet) -> None:
    """A silent monitor's `feed` alert is closed only by the device sending again: a
    correction of an old reading (a person validating it at the central station, or a
    forged one) says nothing about the device being connected now."""
    s = scorer_of(charts)
    s.handle([reading({"heart_rate": 72}, t=60, msg_id="d-1")])
    [raised] = [e for e in alerts(s.tick(at(400))) if e.kind == "feed"]
    out = s.handle(
        [reading({"heart_rate": 74}, t=60, msg_id="d-1/_history/2", corrects=True, received=420)]
    )
    assert [e for e in alerts(out) if e.kind == "feed"] == []
    assert raised.alert_id in s.desk.alerts  # still open: the device is still silent


def test_a_correction_with_a_new_reading_of_its_own_shows_the_device_sending(
    charts: ChartSet,
) -> None:
    """An HL7 message with OBX-11 C for RR and F for a new heart rate: the device is sending."""
    s = scorer_of(charts)
    s.handle([reading({"heart_rate": 72}, t=60, msg_id="d-1")])
    [raised] = [e for e in alerts(s.tick(at(400))) if e.kind == "feed"]
    vitals = {"resp_rate": 16, "heart_rate": 74}
    o = make_obs(vitals, time=at(410).isoformat(), msg_id="h-2", source="monitor")
    item = Observation(WARD, BED, "hl7v2", o, corrected=("resp_rate",))
    out = s.handle([Arrival(item, f"wards/{WARD}/beds/{BED}/hl7v2", b"{}", at(420))])
    [closed] = [e for e in alerts(out) if e.kind == "feed"]
    assert (closed.alert_id, closed.state) == (raised.alert_id, "resolved")


def test_a_correction_of_a_correction_replaces_the_same_record_observation(
    charts: ChartSet,
) -> None:
    """FHIR versions 1, 2, 3 of one Observation: each correction's score must go out as the
    one FHIR Observation (and HL7 order) the first score went out as, not a new one."""
    s = scorer_of(charts)
    [first] = stored(s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")]))
    [second] = stored(
        s.handle(
            [reading({"resp_rate": 20}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)]
        )
    )
    [third] = stored(
        s.handle(
            [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/3", corrects=True, received=80)]
        )
    )
    assert third["corrects"] == ["o-1", "o-1/_history/2"]  # the original first
    ids = [score_observation(r)["id"] for r in (first, second, third)]
    assert ids[1] == ids[0]
    assert ids[2] == ids[0]  # version 3 replaces the record's Observation, not a new one
    orders = [score_oru(r).split("\r")[1].split("|")[3] for r in (first, second, third)]
    assert orders[2] == orders[0]


# -- what held up -----------------------------------------------------------------------------


def test_a_forged_normal_correction_never_closes_or_lowers_the_alert(charts: ChartSet) -> None:
    """A real abnormal monitor reading raised an alert; a `corrected` one with normal values
    at the same time drops the board's score but the alert stays open, same severity."""
    s = scorer_of(charts, persistence=0)
    [raised] = alerts(s.handle([reading(WRONG, t=60, msg_id="o-1")]))
    normal = {key: NORMAL[key] for key in WRONG}
    out = s.handle([reading(normal, t=60, msg_id="x/_history/9", corrects=True, received=61)])
    [note] = alerts(out)
    assert (note.alert_id, note.state, note.severity) == (
        raised.alert_id,
        raised.state,
        raised.severity,
    )
    assert note.seq == raised.seq + 1
    assert raised.alert_id in s.desk.alerts
    # QoS 1 redelivery of the same correction: a repeat, no second note
    again = s.handle([reading(normal, t=60, msg_id="x/_history/9", corrects=True, received=62)])
    assert (again.duplicates, alerts(again)) == (1, [])


@pytest.mark.parametrize(
    ("when", "error"),
    [
        (datetime(9999, 12, 31, tzinfo=UTC), "time"),
        (datetime(1900, 1, 1, tzinfo=UTC), "time"),
    ],
)
def test_a_correction_at_an_odd_time_is_a_dead_letter(
    charts: ChartSet, when: datetime, error: str
) -> None:
    s = scorer_of(charts)
    o = make_obs({"resp_rate": 16}, time=when.isoformat(), msg_id="o-1/_history/2")
    item = Observation(WARD, BED, "fhir", o, corrected=("resp_rate",))
    out = s.handle([Arrival(item, f"wards/{WARD}/beds/{BED}/fhir", b"{}", at(70))])
    assert [d["error"] for d in dead(out)] == [error]
    assert scores(out) == []


@pytest.mark.parametrize(("patient", "error"), [("P2", "placement")])
def test_a_correction_for_a_patient_not_in_the_bed_is_a_dead_letter(
    charts: ChartSet, patient: str, error: str
) -> None:
    s = scorer_of(charts)
    o = make_obs(
        {"resp_rate": 16}, time=at(60).isoformat(), msg_id="o-1/_history/2", patient_id=patient
    )
    item = Observation(WARD, BED, "fhir", o, corrected=("resp_rate",))
    out = s.handle([Arrival(item, f"wards/{WARD}/beds/{BED}/fhir", b"{}", at(70))])
    assert [d["error"] for d in dead(out)] == [error]


def test_after_a_restart_the_corrected_value_stands(charts: ChartSet) -> None:
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)]
    )
    accepted = {r.msg_id: (r.digest, r.received_at) for r in out.batch.accepted}
    resumed = OnlineScorer(charts, s.settings)
    resumed.restore(
        StoredState([], [], [], set(), accepted=accepted, scorer_state=s.snapshot()), at(80)
    )
    [later] = scores(resumed.handle([reading({"heart_rate": 72}, t=90, msg_id="o-2")]))
    assert later["vitals"]["resp_rate"] == 16
    # and the correction is remembered: sent again, a repeat
    again = resumed.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=95)]
    )
    assert again.duplicates == 1


def test_a_correction_names_only_its_own_patients_readings(charts: ChartSet) -> None:
    """Two patients, readings at the same time: a correction of one never names the other."""
    s = OnlineScorer(charts, OnlineSettings(device_persistence=0, feed_timeout=300))
    s.handle([admit("P1"), admit("P2", bed="13")])
    o2 = make_obs({"resp_rate": 30}, time=at(60).isoformat(), msg_id="p2-1", patient_id="P2")
    s.handle([Arrival(Observation(WARD, "13", "fhir", o2), "t", b"{}", at(60))])
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="p1-1")])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="p1-1/_history/2", corrects=True, received=70)]
    )
    assert [r["corrects"] for r in stored(out)] == [["p1-1"]]
    assert msgspec.json.decode(out.batch.scores[0].result)["patient_id"] == "P1"


async def test_a_partial_correction_keeps_the_other_readings_on_the_chart(
    charts: ChartSet, tmp_path: Path
) -> None:
    """A monitor sent HR, RR and SpO2 at 09:01; a correction of RR alone must not take the HR
    and SpO2 measured then off the patient's chart (only the corrected RR is replaced)."""
    s = scorer_of(charts)
    out = s.handle(
        [
            reading(WRONG, t=60, msg_id="o-1"),
            reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70),
        ]
    )
    async with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        await store.write(out.batch)
        history = StoreHistory()
        history.store = store
        plotted = await history.scores("P1", at(59), viewer="Dr A")
    shown: dict[str, Any] = {}
    for result in plotted:
        shown.update(result["vitals"])
    assert shown.get("resp_rate") == 16  # the corrected value, not the wrong 30
    assert (shown.get("heart_rate"), shown.get("spo2")) == (135, 88)  # still measured then


def test_a_correction_from_a_monitor_whose_clock_runs_ahead_still_names_its_original(
    charts: ChartSet,
) -> None:
    """A monitor clock 5 s ahead (within max_skew): the original counted from its arrival,
    its correction (arriving later) from its own time; both say the same reading time."""
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=65, msg_id="o-1", received=60)])
    out = s.handle(
        [reading({"resp_rate": 16}, t=65, msg_id="o-1/_history/2", corrects=True, received=90)]
    )
    [kept] = stored(out)
    assert kept["corrects"] == ["o-1"]


def test_a_device_correction_never_tells_a_nurses_alert_it_came_from_a_wrong_value(
    charts: ChartSet,
) -> None:
    """The nurse's count raised the alert: a device's `corrected` reading of that time (which
    does not replace the nurse's value) must not note that "this alert was raised from the
    value corrected": a responder would discount a real deterioration."""
    s = scorer_of(charts, persistence=0)
    [raised] = alerts(s.handle([obs({**NORMAL, "resp_rate": 27}, t=60, msg_id="n-1")]))
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="d-1/_history/2", corrects=True, received=70)]
    )
    assert [e.note for e in alerts(out) if e.alert_id == raised.alert_id] == []


def test_a_vitals_correction_never_notes_a_lab_alert(charts: ChartSet) -> None:
    """An AKI alert comes from a creatinine result, never from a vital sign: a correction of a
    vital at the lab's time (to the second) says nothing about it."""
    s = scorer_of(charts, persistence=0)
    s.handle([lab(80, t=0, msg_id="l1")])
    [aki] = [e for e in alerts(s.handle([lab(240, t=60, msg_id="l2")])) if e.kind == "aki"]
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1", received=61)])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)]
    )
    assert [e for e in alerts(out) if e.alert_id == aki.alert_id] == []


def test_an_ordinary_id_that_looks_like_a_corrections_is_a_conflict_never_silent(
    charts: ChartSet,
) -> None:
    """`/_history/` in an ordinary message's id (an HL7 MSH-10, a FHIR identifier) takes the
    id a later correction of `o-1` would have: the correction is then a `conflict` dead
    letter, seen, never applied in silence nor taken for a repeat."""
    s = scorer_of(charts)
    s.handle([reading({"resp_rate": 30}, t=60, msg_id="o-1")])
    s.handle([reading({"heart_rate": 80}, t=61, msg_id="o-1/_history/2")])
    out = s.handle(
        [reading({"resp_rate": 16}, t=60, msg_id="o-1/_history/2", corrects=True, received=70)]
    )
    assert [d["error"] for d in dead(out)] == ["conflict"]
    assert (scores(out), out.duplicates) == ([], 0)


def test_an_alert_a_correction_raises_says_it_came_from_the_monitor_corrected(
    charts: ChartSet,
) -> None:
    """It counts at once, as a nurse's set does, but the responder must not take it for a
    nurse's set: the alert says continuous monitoring, corrected."""
    s = scorer_of(charts, persistence=60)
    s.handle([reading({"resp_rate": 16}, t=60, msg_id="o-1")])
    out = s.handle([reading(WRONG, t=60, msg_id="o-1/_history/2", corrects=True, received=70)])
    [event] = alerts(out)
    assert "(continuous monitoring, corrected)" in event.message
