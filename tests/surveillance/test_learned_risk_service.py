"""The learned risk in the live service (issue 15): a real broker, the service, a SQLite store.

A model file that cannot be loaded stops nothing (scores and alerts go on, `/healthz` says
why); a loaded model's estimate is published and stored with each score, the model is saved
while the service runs and when it stops, and loaded from where it was kept at the next
start; a model that fails at every call changes no score and no alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest import vocabulary
from scoring import ChartSet
from surveillance import OnlineScorer, Service, StoreHistory, live
from surveillance.risk import ModelError
from surveillance.store import ScoreRecord, open_store
from tests.mqtt_broker import Mosquitto
from tests.risk_double import NAME, EdgeRisk, FailingRisk, HangingRisk
from tests.surveillance.test_online import HIGH as HIGH_SET
from tests.surveillance.test_online import MEDIUM, admit, at, obs
from tests.surveillance.test_pipeline import (
    HIGH,
    adt,
    listening,
    obs_json,
    send,
    settings_for,
    stored,
    ward,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _eventually(check: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_a_model_file_that_cannot_be_loaded_stops_no_score_and_no_alert(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "model.bin"
    broken.write_bytes(b"\x80\x04not a model at all")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    settings = settings_for(mosquitto, store)
    settings.model.path = str(broken)
    settings.http.port = _free_port()
    w = ward()
    caplog.set_level(logging.ERROR)
    async with (
        live(settings, charts, without_login="none") as (service, url),
        listening(mosquitto, f"wards/{w}/#") as heard,
    ):
        assert url is not None
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P-broken")),
            (f"wards/{w}/beds/1/obs", obs_json("P-broken", f"{w}-o1", HIGH)),
        )
        await heard.wait(lambda h: bool(h.on("/score")) and bool(h.on("/alerts")))
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            # Asked until healthy (at most 10 s): on a loaded machine the board's own broker
            # connection may still be coming up when the first alert is heard.
            for _ in range(100):
                health = (await client.get("/healthz")).json()
                if health["ok"] is True:
                    break
                await asyncio.sleep(0.1)
    [score] = heard.on("/score")
    assert score["total"] == 8
    assert "learned_risk" not in score
    assert [a["kind"] for a in heard.on("/alerts")] == ["score"]
    assert health["ok"] is True, health  # the service is healthy: only the model is missing
    assert health["model"]["state"] == "unavailable"
    assert health["model"]["reason"]  # why, in words
    assert service.scorer.model is None
    assert any("the learned risk is not running" in r.getMessage() for r in caplog.records)


async def test_the_estimate_is_published_and_stored_and_the_model_kept_across_a_restart(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    settings = settings_for(mosquitto, store)
    settings.model.save_every = 0.3  # (the file refuses less than 10 s; a test need not wait)
    kept = settings.model_state_path()
    assert kept is not None
    assert kept == tmp_path / "store.db-model"  # beside the store
    asked: list[Path | None] = []
    model = EdgeRisk()

    def load(path: Path | None) -> EdgeRisk:
        asked.append(path)
        return model

    w = ward()
    async with listening(mosquitto, f"wards/{w}/#") as heard:
        service = Service(settings, charts, load_risk=load)
        task = asyncio.create_task(service.run())
        await asyncio.wait_for(service.started.wait(), 15)
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P-learn")),
            (f"wards/{w}/beds/1/obs", obs_json("P-learn", f"{w}-o1", HIGH)),
        )
        await heard.wait(lambda h: bool(h.on("/score")))
        await _eventually(kept.exists)
        health = service.health()["model"]
        service.stop.set()
        await asyncio.wait_for(task, 30)
    assert asked == [None]  # nothing kept yet: the shipped default
    [score] = heard.on("/score")
    assert score["learned_risk"] == {
        "probability": 0.8,
        "horizon_hours": 24.0,
        "reasons": ["heart rate scored 1", "resp rate scored 3", "spo2 scored 1"],
        "model": NAME,
        "shadow": True,
    }
    [record] = [r for r in await stored(store, ScoreRecord) if r.patient_id == "P-learn"]
    assert b'"learned_risk":{"probability":0.8' in record.result
    assert health["state"] == "loaded"
    assert health["from"] == "the shipped default"
    assert health["describe"]["name"] == NAME
    assert health["estimates"] == 1
    assert health["shadow"] is True
    saves = model.kinds().count("save")
    assert saves >= 2  # while running, and at the stop
    assert model.kinds()[-1] == "save"  # the last thing: the stop's save
    assert not kept.with_name(kept.name + ".partial").exists()
    # The next start loads what was kept.
    again = Service(settings, charts, load_risk=load)
    async with running_service(again):
        assert again.health()["model"]["from"] == str(kept)
    assert asked == [None, kept]


async def test_a_kept_model_that_cannot_be_loaded_is_set_aside_and_the_default_used(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 'store.db'}")
    kept = settings.model_state_path()
    assert kept is not None
    kept.write_bytes(b"made by another river")

    def load(path: Path | None) -> EdgeRisk:
        if path is not None:
            raise ModelError(f"{path}: made with river 0.1, this is 0.22: retrain or use 0.1")
        return EdgeRisk()

    service = Service(settings, charts, load_risk=load)
    async with running_service(service):
        health = service.health()["model"]
    assert health["state"] == "loaded"
    assert health["from"] == "the shipped default"
    assert "made with river 0.1" in health["refused"]
    aside = kept.with_name(kept.name + ".refused")
    assert aside.read_bytes() == b"made by another river"  # kept, never overwritten


async def test_a_second_refused_model_does_not_overwrite_the_first(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """A refused model may hold months of learning (refused after a river upgrade, say): the
    next one refused (after a downgrade and upgrade again) is set aside beside it."""
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 'store.db'}")
    kept = settings.model_state_path()
    assert kept is not None
    first = kept.with_name(kept.name + ".refused")
    first.write_bytes(b"months of learning")
    kept.write_bytes(b"made by another river")

    def load(path: Path | None) -> EdgeRisk:
        if path is not None:
            raise ModelError(f"{path}: made with river 0.1")
        return EdgeRisk()

    service = Service(settings, charts, load_risk=load)
    async with running_service(service):
        health = service.health()["model"]
    assert first.read_bytes() == b"months of learning"
    [second] = [p for p in tmp_path.iterdir() if p.name.startswith(first.name + ".")]
    assert second.read_bytes() == b"made by another river"
    assert str(second) in health["refused"]


async def test_a_state_path_that_is_a_directory_is_never_moved(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """`[model] state` names a file; set to a directory (the one holding the store, say), the
    directory must not be moved aside as a refused model: the model is not loaded, and why is
    on /healthz."""
    data = tmp_path / "data"
    data.mkdir()
    settings = settings_for(mosquitto, f"sqlite:///{data / 'store.db'}")
    settings.model.state = str(data)

    def load(path: Path | None) -> EdgeRisk:
        if path is not None:
            raise ModelError(f"{path}: not a model file")
        return EdgeRisk()

    service = Service(settings, charts, load_risk=load)
    async with running_service(service):
        health = service.health()["model"]
    assert (data / "store.db").exists()
    assert not (tmp_path / "data.refused").exists()
    assert health["state"] == "unavailable"
    assert "not a file" in health["reason"]


async def test_a_model_that_fails_at_every_call_changes_no_score_and_no_alert(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    settings = settings_for(mosquitto, store)
    settings.model.save_every = 0.3
    w = ward()
    service = Service(settings, charts, load_risk=lambda _: FailingRisk())
    async with running_service(service), listening(mosquitto, f"wards/{w}/#") as heard:
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P-fail")),
            (f"wards/{w}/beds/1/obs", obs_json("P-fail", f"{w}-o1", HIGH)),
        )
        await heard.wait(lambda h: bool(h.on("/score")) and bool(h.on("/alerts")))
        await _eventually(lambda: service.health()["model"].get("save_error") is not None)
        health = service.health()["model"]
    [score] = heard.on("/score")
    assert score["total"] == 8
    assert "learned_risk" not in score
    raised = [(a["kind"], a["severity"]) for a in heard.on("/alerts") if a["kind"] != "overdue"]
    assert raised == [("score", "emergency")]  # as without a model ("overdue": a first set)
    assert health["failures"]["estimate: Boom"] == 1
    assert health["failures"]["mature: Boom"] >= 1
    assert "Boom" in health["save_error"]


async def test_a_save_that_hangs_holds_scoring_only_briefly_and_the_model_is_set_aside(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """The scorer waits while the model is saved (it must not change under the save): a save
    that never ends (a stuck disk) must not stop scoring and alerting for good."""
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 'store.db'}")
    settings.model.save_every = 0.3
    model = HangingRisk()
    service = Service(settings, charts, load_risk=lambda _: model)
    service.model_save_hold = 0.5
    w = ward()
    try:
        async with running_service(service), listening(mosquitto, f"wards/{w}/#") as heard:
            await _eventually(model.saving.is_set)
            await send(
                mosquitto,
                (f"wards/{w}/beds/1/adt", adt("P-hang")),
                (f"wards/{w}/beds/1/obs", obs_json("P-hang", f"{w}-o1", HIGH)),
            )
            await heard.wait(lambda h: bool(h.on("/score")) and bool(h.on("/alerts")), 10)
            health = service.health()["model"]
    finally:
        model.release.set()
    [score] = heard.on("/score")
    assert score["total"] == 8
    assert "learned_risk" not in score  # the model is no longer asked: its save still runs
    assert health["state"] == "unavailable"
    assert "0.5 s" in health["reason"]
    assert service.scorer.model is None


@contextlib.asynccontextmanager
async def running_service(service: Service) -> AsyncIterator[Service]:
    """A service started (and stopped at the end), as `running` but for a service made here."""
    task = asyncio.create_task(service.run())
    started = asyncio.create_task(service.started.wait())
    await asyncio.wait({task, started}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert service.started.is_set(), "the service did not start"
    try:
        yield service
    finally:
        service.stop.set()
        await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
async def test_the_patient_views_history_carries_each_stored_estimate(
    charts: ChartSet, store_url: str
) -> None:
    """The history API's scores are the stored payloads (keys `history_keys`): each keeps the
    estimate it was made with, and a score without one says so (null)."""
    scorer = OnlineScorer(charts, risk=EdgeRisk())
    out = scorer.handle([admit(), obs(MEDIUM, t=60, msg_id="o1")])
    scorer.use_model(None)
    later = scorer.handle([obs(HIGH_SET, t=120, msg_id="o2")])
    async with open_store(store_url) as store:
        await store.write(out.batch)
        await store.write(later.batch)
        history = StoreHistory()
        history.store = store
        found = await history.scores("P1", at(0), viewer="Dr Ada")
    keys = vocabulary()["history_keys"]
    assert "learned_risk" in keys
    shown = [{key: result.get(key) for key in keys} for result in found]  # as the API does
    assert [s["obs_msg_id"] for s in shown] == ["o1", "o2"]
    learned = shown[0]["learned_risk"]
    assert learned is not None
    assert learned["probability"] == 0.6
    assert learned["model"] == NAME
    assert shown[1]["learned_risk"] is None
