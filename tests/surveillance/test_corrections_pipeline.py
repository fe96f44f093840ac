"""A FHIR Observation corrected in place (same id, new versionId), end to end: a real
Mosquitto, the service and a SQLite store."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from scoring import ChartSet
from surveillance import StoreHistory
from surveillance.store import DeadLetterRecord, ObservationRecord, ScoreRecord, open_store
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import (
    NORMAL,
    adt,
    listening,
    obs_json,
    running,
    send,
    settings_for,
    stored,
    ward,
)


def heart_rate(obs_id: str, value: float, status: str, version: str) -> bytes:
    return msgspec.json.encode(
        {
            "resourceType": "Observation",
            "id": obs_id,
            "meta": {"versionId": version, "lastUpdated": "2026-11-22T09:40:00Z"},
            "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "Patient/P7"},
            "effectiveDateTime": "2026-11-22T09:35:00Z",
            "valueQuantity": {
                "value": value,
                "unit": "beats/minute",
                "system": "http://unitsofmeasure.org",
                "code": "/min",
            },
        }
    )


async def test_a_fhir_observation_corrected_in_place_replaces_the_score_on_the_board(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w, url = ward(), f"sqlite:///{tmp_path / 's.db'}"
    hr = f"hr-{w}"
    bed = f"wards/{w}/beds/3"
    correction = (f"{bed}/fhir", heart_rate(hr, 72, "corrected", "2"))
    async with (
        running(settings_for(mosquitto, url), charts) as service,
        listening(mosquitto, f"{bed}/score") as heard,
    ):
        await send(
            mosquitto,
            (f"{bed}/adt", adt("P7")),
            (f"{bed}/obs", obs_json("P7", f"set-{w}", NORMAL, time="2026-11-22T09:32:00Z")),
            (f"{bed}/fhir", heart_rate(hr, 135, "final", "1")),
        )
        await heard.wait(lambda h: len(h.messages) == 2)
        await send(mosquitto, correction, correction)  # delivered twice: once scored
        await heard.wait(lambda h: len(h.messages) == 3)
        await asyncio.sleep(0.3)
        assert service.counters.duplicates == 1
    scores: list[dict[str, Any]] = [payload for _, payload in heard.messages]
    _, wrong, right = scores
    assert (wrong["obs_msg_id"], wrong["vitals"]["heart_rate"]) == (hr, 135)
    assert (right["obs_msg_id"], right["vitals"]["heart_rate"]) == (f"{hr}/_history/2", 72)
    assert right["corrects"] == [hr]
    assert right["total"] < wrong["total"]
    async with listening(mosquitto, f"{bed}/score") as board:  # the retained score: the board's
        await board.wait(lambda h: bool(h.messages))
        assert board.messages[0][1]["obs_msg_id"] == f"{hr}/_history/2"
    assert await stored(url, DeadLetterRecord) == []  # no `conflict`
    observations = [r.msg_id for r in await stored(url, ObservationRecord)]
    assert sorted(observations) == sorted([f"set-{w}", hr, f"{hr}/_history/2"])
    assert len(await stored(url, ScoreRecord)) == 3  # both kept: the audit trail
    async with open_store(url) as store:
        history = StoreHistory()
        history.store = store
        charted = await history.scores("P7", datetime.fromisoformat(wrong["time"]), viewer="Dr A")
    assert [s["obs_msg_id"] for s in charted] == [f"{hr}/_history/2"]  # the wrong one not plotted
