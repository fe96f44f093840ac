"""The live pipeline end to end: a private Mosquitto, the service, and a real store (SQLite, PostgreSQL).

Every test has its own ward names, patients and MQTT client ids, so tests sharing the session's
broker never see each other's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import msgspec
import pytest

from ingest import parse_broker_url
from scoring import ChartSet
from simulators import Message, fhir_bundle, hl7v2_oru, publish
from surveillance import Service, Settings, load_settings
from surveillance.store import (
    AlertRecord,
    DeadLetterRecord,
    ObservationRecord,
    ScoreRecord,
    open_store,
)
from tests.factories import CONTRACT_VITALS, make_obs
from tests.mqtt_broker import Mosquitto

NORMAL = {
    "resp_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "heart_rate": 72,
    "consciousness": "A",
    "temperature": 37.0,
}
CONTRACT_OBS = CONTRACT_VITALS  # NEWS2 6, medium
HIGH = {**CONTRACT_OBS, "resp_rate": 25, "systolic_bp": 95}  # NEWS2 8, high

ENCODE = msgspec.json.Encoder().encode


def adt(
    patient: str, *, event: str = "admit", time: str = "2026-11-22T08:00:00Z", **extra: Any
) -> bytes:
    return ENCODE(
        {
            "msg_id": f"adt-{patient}-{event}-{uuid.uuid4().hex[:8]}",
            "time": time,
            "event": event,
            "patient_id": patient,
            "cohort": "adult",
            "birth_date": "1948-03-02",
            **extra,
        }
    )


def obs_json(
    patient: str,
    msg_id: str,
    vitals: dict[str, Any],
    *,
    time: str = "2026-11-22T09:30:00Z",
    source: str = "manual",
) -> bytes:
    return ENCODE(
        {"msg_id": msg_id, "patient_id": patient, "time": time, "source": source, "vitals": vitals}
    )


@dataclass
class Listener:
    """Collects what arrives on some topic filters."""

    messages: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on(self, topic_part: str) -> list[Any]:
        return [payload for topic, payload in self.messages if topic_part in topic]

    async def wait(self, predicate: Callable[[Listener], bool], timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def listening(broker: Mosquitto, *filters: str) -> AsyncIterator[Listener]:
    listener = Listener()
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"listen-{uuid.uuid4().hex[:8]}"
    ) as client:
        for topic in filters:
            await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                try:
                    decoded = msgspec.json.decode(payload)
                except msgspec.DecodeError:
                    decoded = payload
                listener.messages.append((message.topic.value, decoded))
                listener.arrived.set()

        task = asyncio.create_task(collect())
        try:
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def send(broker: Mosquitto, *messages: tuple[str, bytes], retain_adt: bool = True) -> None:
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"send-{uuid.uuid4().hex[:8]}"
    ) as client:
        for topic, payload in messages:
            await client.publish(
                topic, payload, qos=1, retain=retain_adt and topic.endswith("/adt")
            )


RECORDED_MAX_AGE = 20 * 365 * 86400.0
"""Seconds: accepts the recorded test streams' fixed dates whatever today's date is."""


def settings_for(broker: Mosquitto, store_url: str, **scorer: Any) -> Settings:
    client_id = f"scorer-{uuid.uuid4().hex[:8]}"
    own = Path(tempfile.gettempdir()) / "surveillance-test"
    # A SQLite store keeps the model beside it (tested); any other would keep it in the
    # working directory: keep it with the spool instead.
    beside = store_url.startswith("sqlite:///")
    return load_settings(
        None,
        {
            "broker.url": broker.url,
            "broker.client_id": client_id,
            "store.url": store_url,
            "store.spool": str(own / client_id),
            **({} if beside else {"model.state": str(own / f"{client_id}.model")}),
            "store.flush_interval": 0.02,
            "http.port": 0,
            # These streams are recordings dated 2026-11-22: older than the default max_age
            # (7 days) on today's clock. The time bounds have tests of their own.
            "scorer.max_age": RECORDED_MAX_AGE,
            **{f"scorer.{k}": v for k, v in scorer.items()},
        },
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, charts: ChartSet) -> AsyncIterator[Service]:
    service = Service(settings, charts)
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


def ward() -> str:
    return f"W{uuid.uuid4().hex[:6]}"


async def stored(url: str, kind: type[Any]) -> list[Any]:
    async with open_store(url) as store:
        return await store.fetch(kind)


async def test_a_contract_observation_is_scored_published_and_stored(
    mosquitto: Mosquitto, charts: ChartSet, store_url: str
) -> None:
    w = ward()
    async with (
        running(settings_for(mosquitto, store_url), charts) as service,
        listening(mosquitto, f"wards/{w}/#") as heard,
    ):
        await send(
            mosquitto,
            (f"wards/{w}/beds/12/adt", adt("P001")),
            (f"wards/{w}/beds/12/obs", obs_json("P001", f"obs-{w}", CONTRACT_OBS)),
        )
        await heard.wait(lambda h: bool(h.on("/score")) and bool(h.on("/alerts")))
        [score] = heard.on("/score")
        assert (score["total"], score["risk"], score["response"]) == (6, "medium", "urgent")
        assert (score["ward"], score["bed"], score["obs_msg_id"]) == (w, "12", f"obs-{w}")
        [alert] = heard.on("/alerts")
        assert (alert["kind"], alert["severity"], alert["state"]) == ("score", "urgent", "raised")
        await asyncio.sleep(0.2)
        assert service.counters.scored == 1
    [record] = await stored(store_url, ScoreRecord)
    assert (record.obs_msg_id, record.total, record.risk) == (f"obs-{w}", 6, "medium")
    [observation] = await stored(store_url, ObservationRecord)
    assert observation.vitals["temperature"] == 38.4
    [alert_record] = await stored(store_url, AlertRecord)
    assert alert_record.alert_id == alert["alert_id"]


async def test_the_score_is_retained_for_whoever_subscribes_later(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w = ward()
    async with running(settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}"), charts):
        async with listening(mosquitto, f"wards/{w}/beds/1/score") as first:
            await send(
                mosquitto,
                (f"wards/{w}/beds/1/adt", adt("P1")),
                (f"wards/{w}/beds/1/obs", obs_json("P1", f"o-{w}", NORMAL)),
            )
            await first.wait(lambda h: bool(h.messages))
        async with listening(mosquitto, f"wards/{w}/beds/1/score") as later:
            await later.wait(lambda h: bool(h.messages))
            assert later.messages[0][1]["obs_msg_id"] == f"o-{w}"


async def test_device_formats_are_scored_into_the_patients_snapshot(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """A nurse's set, then a FHIR wearable and an HL7 v2 monitor: each scored with the set's other values."""
    w = ward()
    fhir = make_obs(
        {"heart_rate": 112, "spo2": 95, "resp_rate": 18},
        msg_id=f"fhir-{w}",
        patient_id="P7",
        time="2026-11-22T09:35:00Z",
        source="wearable",
    )
    hl7 = make_obs(
        {"heart_rate": 135, "spo2": 96},
        msg_id=f"hl7-{w}",
        patient_id="P7",
        time="2026-11-22T09:36:00Z",
        source="monitor",
    )
    async with (
        running(settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}"), charts),
        listening(mosquitto, f"wards/{w}/beds/3/score") as heard,
    ):
        await send(
            mosquitto,
            (f"wards/{w}/beds/3/adt", adt("P7")),
            (
                f"wards/{w}/beds/3/obs",
                obs_json("P7", f"set-{w}", NORMAL, time="2026-11-22T09:32:00Z"),
            ),
            (f"wards/{w}/beds/3/fhir", fhir_bundle(fhir, device_id="wear-1")),
            (f"wards/{w}/beds/3/hl7v2", hl7v2_oru(hl7, ward=w, bed="3", device_id="mon-1")),
        )
        await heard.wait(lambda h: len(h.messages) == 3)
    manual, from_fhir, from_hl7 = (payload for _, payload in heard.messages)
    assert manual["total"] == 0
    assert from_fhir["obs_msg_id"] == f"fhir-{w}"
    assert from_fhir["vitals"]["heart_rate"] == 112
    assert from_fhir["vitals"]["temperature"] == 37.0
    assert (from_fhir["total"], from_fhir["complete"]) == (3, True)  # HR 112 → 2, SpO2 95 → 1
    assert from_hl7["vitals"]["heart_rate"] == 135
    assert from_hl7["vitals"]["resp_rate"] == 18
    assert from_hl7["parameters"]["heart_rate"] == 3


def stale_spo2_bundle(msg_id: str, spo2_time: str = "2026-11-22T08:30:00Z") -> bytes:
    """A FHIR Bundle: heart rate at 09:00 and SpO2 84 % dated `spo2_time` (half an hour
    before)."""

    def reading(code: str, value: float, unit: str, when: str) -> dict[str, Any]:
        return {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": "Patient/P1"},
                "effectiveDateTime": when,
                "valueQuantity": {
                    "value": value,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
            }
        }

    bundle = {
        "resourceType": "Bundle",
        "id": msg_id,
        "type": "collection",
        "entry": [
            reading("8867-4", 80, "/min", "2026-11-22T09:00:00Z"),
            reading("59408-5", 84, "%", spo2_time),
        ],
    }
    return msgspec.json.encode(bundle)


async def test_the_configured_freshness_reaches_ingest(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """`[scorer.freshness]` is what ingest judges a device message's old readings by: SpO2
    half an hour older than the heart rate is stale by the default 5 minutes, read under 1 h."""
    w = ward()
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}", freshness={"spo2": 3600.0})
    async with running(settings, charts), listening(mosquitto, f"wards/{w}/beds/1/score") as heard:
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P1")),
            (f"wards/{w}/beds/1/fhir", stale_spo2_bundle(f"b-{w}")),
        )
        await heard.wait(lambda h: bool(h.messages))
    [(_, score)] = heard.messages
    assert (score["vitals"]["heart_rate"], score["vitals"]["spo2"]) == (80, 84)


async def test_a_far_future_reading_is_refused_alone_and_the_rest_scored(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """The service bounds a device reading's time by the receipt plus `max_skew`: a forged
    9999 SpO2 no longer makes the whole message a `time` dead letter."""
    w = ward()
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}")
    payload = stale_spo2_bundle(f"b-{w}", spo2_time="9999-12-31T23:59:00Z")
    async with running(settings, charts), listening(mosquitto, f"wards/{w}/beds/1/score") as heard:
        await send(
            mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")), (f"wards/{w}/beds/1/fhir", payload)
        )
        await heard.wait(lambda h: bool(h.messages))
    [(_, score)] = heard.messages
    assert (score["vitals"]["heart_rate"], score["vitals"].get("spo2")) == (80, None)


DEAD = [
    ("obs", b"\xff\xfe\x00", "not-utf8"),
    ("obs", b"{not json", "not-json"),
    (
        "obs",
        b'{"msg_id":"d-1","patient_id":"P1","time":"2026-11-22T09:30:00Z","vitals":{"resp_rate":"fast"}}',
        "invalid",
    ),
    (
        "obs",
        b'{"msg_id":"d-2","patient_id":"P1","time":"2026-11-22T09:30:00Z","vitals":{"spo2":101}}',
        "implausible",
    ),
    (
        "obs",
        b'{"msg_id":"d-3","patient_id":"P1","time":"2026-11-22T09:30:00Z","vitals":{"on_oxygen":false,"oxygen_flow_lpm":2}}',
        "contradictory",
    ),
    (
        "obs",
        b'{"msg_id":"d-4","patient_id":"P2","time":"2026-11-22T09:30:00Z","vitals":{"spo2":97}}',
        "placement",
    ),
    ("obs", b"{" + b'"pad":"' + b"x" * 300_000 + b'"}', "oversize"),
    ("fhir", b'{"resourceType":"Patient","id":"x"}', "not-fhir"),
    ("hl7v2", b"MSH|^~\\&|X||||20261122093000||ADT^A01|1|P|2.6\r", "not-hl7"),
]


async def test_every_dead_letter_class_reaches_the_topic_and_the_store(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w = ward()
    url = f"sqlite:///{tmp_path / 's.db'}"
    bad_unit = fhir_bundle(
        make_obs({"temperature": 38.0}, msg_id=f"u-{w}", patient_id="P1"), device_id="d"
    ).replace(b'"Cel"', b'"[degF]"')
    cases = [*DEAD, ("fhir", bad_unit, "unit")]
    async with (
        running(settings_for(mosquitto, url), charts),
        listening(mosquitto, "surveillance/deadletter") as heard,
    ):
        await send(mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")))
        await send(
            mosquitto, *((f"wards/{w}/beds/1/{channel}", payload) for channel, payload, _ in cases)
        )
        await send(mosquitto, (f"wards/{w}/beds/2/obs", obs_json("P1", f"nobody-{w}", NORMAL)))

        def mine(h: Listener) -> list[dict[str, Any]]:
            return [p for p in h.on("deadletter") if w in p["topic"]]

        await heard.wait(lambda h: len(mine(h)) == len(cases) + 1)
        letters = mine(heard)
    # Ingest refuses before scoring, so within one batch its refusals come first.
    assert sorted(d["error"] for d in letters) == sorted(
        [error for _, _, error in cases] + ["no-context"]
    )
    for letter in letters:
        assert letter["reason"]
        assert letter["time"]
    assert letters[0]["encoding"] == "base64"
    records = [r for r in await stored(url, DeadLetterRecord) if w in r.topic]
    assert sorted(r.error for r in records) == sorted(d["error"] for d in letters)


async def test_a_repeated_msg_id_is_processed_once(
    mosquitto: Mosquitto, charts: ChartSet, store_url: str
) -> None:
    w = ward()
    async with (
        running(settings_for(mosquitto, store_url), charts) as service,
        listening(mosquitto, f"wards/{w}/#") as heard,
    ):
        twice = (f"wards/{w}/beds/1/obs", obs_json("P1", f"dup-{w}", CONTRACT_OBS))
        await send(mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")), twice, twice)
        await send(
            mosquitto,
            (
                f"wards/{w}/beds/1/obs",
                obs_json("P1", f"next-{w}", CONTRACT_OBS, time="2026-11-22T10:00:00Z"),
            ),
        )
        await heard.wait(lambda h: len(h.on("/score")) == 2)
        await asyncio.sleep(0.3)
        assert service.counters.duplicates == 1
        assert len(heard.on("/alerts")) == 1
    assert [r.obs_msg_id for r in await stored(store_url, ScoreRecord)] == [f"dup-{w}", f"next-{w}"]


def stream(w: str, n: int) -> list[Message]:
    base = int(datetime(2026, 11, 22, 9, 0, tzinfo=UTC).timestamp())
    messages = [Message(base, f"wards/{w}/beds/1/adt", adt("P1"), True)]
    for i in range(n):
        t = base + i + 1
        when = datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
        vitals = {"heart_rate": 60 + i % 40, "spo2": 96}
        messages.append(
            Message(
                t,
                f"wards/{w}/beds/1/obs",
                obs_json("P1", f"s-{w}-{i}", vitals, time=when, source="monitor"),
                False,
            )
        )
    return messages


async def test_a_broker_restart_mid_stream_loses_nothing(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w, n = ward(), 3000
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with running(settings_for(mosquitto, url), charts) as service:
        sending = asyncio.create_task(
            # Paced (3 s in all) so the restart falls mid-stream.
            publish(
                stream(w, n),
                parse_broker_url(mosquitto.url),
                speed=1000,
                progress=False,
                client_id=f"pub-{w}",
            )
        )
        async with asyncio.timeout(30):
            while service.counters.received < n // 3:
                await asyncio.sleep(0.01)
        await asyncio.to_thread(mosquitto.restart)
        await sending
        async with asyncio.timeout(60):
            while service.counters.scored < n:
                await asyncio.sleep(0.05)
        assert service.link.reconnects >= 1
    scores = await stored(url, ScoreRecord)
    assert sorted(r.obs_msg_id for r in scores) == sorted(f"s-{w}-{i}" for i in range(n))


async def test_a_service_restart_resumes_without_loss_or_double_alerts(
    mosquitto: Mosquitto, charts: ChartSet, store_url: str
) -> None:
    w = ward()
    settings = settings_for(mosquitto, store_url)
    topic = f"wards/{w}/beds/5/obs"
    async with listening(mosquitto, f"wards/{w}/alerts", f"wards/{w}/beds/5/score") as heard:
        async with running(settings, charts):
            await send(
                mosquitto,
                (f"wards/{w}/beds/5/adt", adt("P5")),
                (topic, obs_json("P5", f"a-{w}", CONTRACT_OBS)),
            )
            await heard.wait(lambda h: len(h.on("/score")) == 1)
        # While the service is down: the band holds, then rises. The broker keeps them for it.
        await send(
            mosquitto,
            (topic, obs_json("P5", f"b-{w}", CONTRACT_OBS, time="2026-11-22T10:30:00Z")),
            (topic, obs_json("P5", f"a-{w}", CONTRACT_OBS)),  # a repeat of one already processed
            (topic, obs_json("P5", f"c-{w}", HIGH, time="2026-11-22T11:00:00Z")),
        )
        async with running(settings, charts):
            await heard.wait(lambda h: len(h.on("/score")) == 3)
            await asyncio.sleep(0.3)
    alerts = heard.on("/alerts")
    assert [(a["severity"], a["obs_msg_id"]) for a in alerts] == [
        ("urgent", f"a-{w}"),
        ("emergency", f"c-{w}"),
    ]
    assert [r.obs_msg_id for r in await stored(store_url, ScoreRecord)] == [
        f"a-{w}",
        f"b-{w}",
        f"c-{w}",
    ]


async def test_a_silent_device_raises_a_feed_alert(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w = ward()
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}", feed_timeout=1.5)
    async with running(settings, charts), listening(mosquitto, f"wards/{w}/alerts") as heard:
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P1")),
            (
                f"wards/{w}/beds/1/obs",
                obs_json("P1", f"dev-{w}", {"heart_rate": 70}, source="wearable"),
            ),
        )
        await heard.wait(lambda h: any(a["kind"] == "feed" for _, a in h.messages), timeout=10)
        [alert] = [a for _, a in heard.messages if a["kind"] == "feed"]
        assert (alert["state"], alert["notify"]) == ("raised", "bedside-nurse")
        # Its observations are from yesterday: the next full set is long overdue, and said so.
        [overdue] = [a for _, a in heard.messages if a["kind"] == "overdue"][:1]
        assert "Observations missed" in overdue["message"]


MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


@pytest.mark.skipif(not Path(MOSQUITTO_PUB).exists(), reason="mosquitto-clients is not installed")
def test_surveillance_run_scores_what_mosquitto_pub_sends(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The issue's check, as an operator would do it: the CLI service, the Mosquitto clients."""
    w = ward()
    db = tmp_path / "run.db"
    config = tmp_path / "service.toml"
    config.write_text(
        f'[broker]\nurl = "{mosquitto.url}"\nclient_id = "run-{w}"\n[http]\nport = 0\n'
        f"[scorer]\nmax_age = {RECORDED_MAX_AGE}\n"
    )
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "surveillance.cli",
            "run",
            "--config",
            str(config),
            "--store",
            f"sqlite:///{db}",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert service.stderr is not None
        for line in service.stderr:
            if "connected to" in line:
                break
        sub = subprocess.Popen(
            [
                MOSQUITTO_SUB,
                "-h",
                mosquitto.host,
                "-p",
                str(mosquitto.port),
                "-t",
                f"wards/{w}/beds/12/score",
                "-C",
                "1",
                "-W",
                "20",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        pub = [MOSQUITTO_PUB, "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "1"]
        subprocess.run(
            [*pub, "-r", "-t", f"wards/{w}/beds/12/adt", "-m", adt("P001").decode()], check=True
        )
        subprocess.run(
            [
                *pub,
                "-t",
                f"wards/{w}/beds/12/obs",
                "-m",
                obs_json("P001", f"obs-{w}", CONTRACT_OBS).decode(),
            ],
            check=True,
        )
        out, _ = sub.communicate(timeout=30)
        score = msgspec.json.decode(out)
        assert (score["total"], score["risk"], score["obs_msg_id"]) == (6, "medium", f"obs-{w}")
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=30)
    assert service.returncode == 0, err
    records = asyncio.run(stored(f"sqlite:///{db}", ScoreRecord))
    assert [(r.obs_msg_id, r.total) for r in records] == [(f"obs-{w}", 6)]


async def test_an_alert_is_acknowledged_and_resolved_over_mqtt_and_audited(
    mosquitto: Mosquitto, charts: ChartSet, store_url: str
) -> None:
    """A pager or the wallboard acts on `wards/{ward}/alerts/{id}/ack|resolve`; every screen
    hears the new state on the alerts topic, and the store keeps who, why and when."""
    w = ward()
    async with (
        running(settings_for(mosquitto, store_url), charts),
        listening(mosquitto, f"wards/{w}/alerts", "surveillance/deadletter") as heard,
    ):
        await send(
            mosquitto,
            (f"wards/{w}/beds/5/adt", adt("PA")),
            (f"wards/{w}/beds/5/obs", obs_json("PA", f"obs-{w}", HIGH)),
        )
        await heard.wait(lambda h: bool(h.on(f"wards/{w}/alerts")))
        [raised] = heard.on(f"wards/{w}/alerts")
        alert_id = raised["alert_id"]

        def command(msg_id: str, **fields: Any) -> bytes:
            return ENCODE({"msg_id": msg_id, "time": "2026-11-22T09:31:00Z", **fields})

        topic = f"wards/{w}/alerts/{alert_id}"
        await send(mosquitto, (f"{topic}/ack", command(f"ack-{w}", by="Outreach RN", via="pager")))
        await heard.wait(lambda h: len(h.on(f"wards/{w}/alerts")) == 2)
        await send(mosquitto, (f"{topic}/ack", command(f"ack2-{w}", by="Someone else")))
        await send(mosquitto, (f"{topic}/resolve", command(f"res-{w}", by="Dr A", reason="on HDU")))
        await heard.wait(lambda h: len(h.on(f"wards/{w}/alerts")) == 3)
        await heard.wait(lambda h: any(f"ack2-{w}" == d.get("msg_id") for d in h.on("deadletter")))
    states = [(e["state"], e["by"], e["reason"]) for e in heard.on(f"wards/{w}/alerts")]
    assert states == [
        ("raised", None, None),
        ("acknowledged", "Outreach RN", None),
        ("resolved", "Dr A", "on HDU"),
    ]
    [letter] = [d for d in heard.on("deadletter") if d.get("msg_id") == f"ack2-{w}"]
    assert letter["error"] == "alert-state"
    audit = [r for r in await stored(store_url, AlertRecord) if r.alert_id == alert_id]
    events = [(r, msgspec.json.decode(r.event)) for r in audit]
    assert [(r.seq, r.state, e["by"], e.get("via")) for r, e in events] == [
        (1, "raised", None, None),
        (2, "acknowledged", "Outreach RN", "pager"),
        (3, "resolved", "Dr A", None),
    ]


async def test_the_service_says_it_is_alive(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}")
    settings.broker.prefix = f"p{uuid.uuid4().hex[:6]}/"
    async with (
        running(settings, charts),
        listening(mosquitto, f"{settings.broker.prefix}surveillance/heartbeat") as heard,
    ):
        await heard.wait(lambda h: bool(h.messages), timeout=15)
    [(_, beat), *_] = heard.messages
    assert beat["service"] == settings.broker.client_id
    assert beat["healthy"] is True
    age = datetime.now(UTC) - datetime.fromisoformat(beat["time"])
    assert age.total_seconds() < 15


def test_surveillance_wallboard_serves_on_its_own(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """A second wallboard server, without the scorer: what the broker carries, and a clean stop."""
    w = ward()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "service.toml"
    config.write_text(f'[broker]\nurl = "{mosquitto.url}"\nclient_id = "wb-{w}"\n')
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "surveillance.cli",
            "wallboard",
            "--config",
            str(config),
            "--store",
            f"sqlite:///{tmp_path / 'wb.db'}",
            "--http",
            str(port),
            "--auth",
            "none",  # no [auth] in this config: without it the wallboard is refused
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:
            if "wallboard at" in line:
                break
        asyncio.run(send(mosquitto, (f"wards/{w}/beds/3/adt", adt("PW", initials="AB"))))
        deadline = time.monotonic() + 15
        while True:
            response = httpx.get(f"http://127.0.0.1:{port}/api/wards/{w}", timeout=5)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.text
        [bed] = response.json()["beds"]
        assert bed["patient"]["initials"] == "AB"
        history = httpx.get(f"http://127.0.0.1:{port}/api/wards/{w}/beds/3/history", timeout=5)
        assert (history.status_code, history.json()["scores"]) == (200, [])
        report = httpx.get(f"http://127.0.0.1:{port}/api/report?hours=6", timeout=5)
        assert (report.status_code, report.json()["total"]["raised"]) == (200, 0)
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
