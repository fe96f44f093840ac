"""Out to the record, against real endpoints: an MLLP receiver (python-hl7's
`start_hl7_server`, answering AA, AE or AR as told) and a FHIR server (a FastAPI app served by
uvicorn that keeps what is PUT and can be told to fail), with the sender alone, then through
a real Mosquitto and the service, and across a `kill -9` of `surveillance run`.

The sender tests open local sockets (not pure); the module is marked `mqtt` with the tests that
need the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hl7  # type: ignore[import-untyped]
import msgspec
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fhir.resources.R4B.observation import Observation as FhirObservation
from hl7.mllp import start_hl7_server  # type: ignore[import-untyped]

from ingest import score_resource_id
from scoring import ChartSet
from surveillance import Outbound, OutboundQueue, Settings, load_settings
from surveillance.online import Output
from surveillance.store import ScoreRecord
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import (
    CONTRACT_OBS,
    adt,
    listening,
    obs_json,
    running,
    send,
    settings_for,
)

pytestmark = pytest.mark.mqtt

ENCODE = msgspec.json.Encoder().encode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MllpReceiver:
    """An HL7 v2 receiver: keeps every message (control id, patient, text) and answers AA,
    or what `answers` says first (`AE` twice, then AA...), or AR for a control id in `refuse`."""

    port: int = 0
    received: list[tuple[str, str, str]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    server: Any = None
    clients: list[Any] = field(default_factory=list)

    async def start(self) -> None:
        self.server = await start_hl7_server(self._client, "127.0.0.1", self.port, encoding="utf-8")
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()
        for writer in self.clients:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await self.server.wait_closed()

    async def _client(self, reader: Any, writer: Any) -> None:
        self.clients.append(writer)
        with contextlib.suppress(Exception):
            while not writer.is_closing():
                message = await reader.readmessage()
                ctrl = str(message.segment("MSH")[10])
                code = self.answers.pop(0) if self.answers else "AA"
                if ctrl in self.refuse:
                    code = "AR"
                if code == "AA":
                    patient = str(message.segment("PID")[3][0][0])
                    self.received.append((ctrl, patient, str(message)))
                writer.writemessage(message.create_ack(code))
                await writer.drain()

    def by_patient(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for ctrl, patient, _ in self.received:
            found.setdefault(patient, []).append(ctrl)
        return found


@dataclass
class FhirServer:
    """A FHIR server that keeps each `PUT Observation/{id}` (201 new, 200 again), and fails
    the next `fail` requests with 503."""

    port: int = 0
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    puts: int = 0
    fail: int = 0
    _server: Any = None
    _task: Any = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.put("/fhir/Observation/{oid}")
        async def put(oid: str, request: Request) -> Response:
            self.puts += 1
            if self.fail:
                self.fail -= 1
                return Response(status_code=503)
            body = msgspec.json.decode(await request.body())
            if body.get("id") != oid or body.get("resourceType") != "Observation":
                return Response(status_code=400)
            created = oid not in self.stored
            self.stored[oid] = body
            return Response(
                content=ENCODE(body),
                status_code=201 if created else 200,
                media_type="application/fhir+json",
            )

        return app

    async def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"


@contextlib.asynccontextmanager
async def endpoints() -> AsyncIterator[tuple[MllpReceiver, FhirServer]]:
    mllp, fhir = MllpReceiver(), FhirServer()
    await mllp.start()
    await fhir.start()
    try:
        yield mllp, fhir
    finally:
        await mllp.stop()
        await fhir.stop()


def outbound_settings(tmp_path: Path, **outbound: Any) -> Settings:
    return load_settings(
        None,
        {
            "store.spool": str(tmp_path / "spool"),
            **{
                f"outbound.{k}": v
                for k, v in {
                    "retry_first": 0.02,
                    "retry_cap": 0.1,
                    "timeout": 2,
                    **outbound,
                }.items()
            },
        },
    )


def score(patient: str, n: int, total: int = 6) -> ScoreRecord:
    result = {
        "patient_id": patient,
        "ward": "7A",
        "bed": patient,
        "time": f"2026-11-22T09:{n:02d}:00Z",
        "obs_msg_id": f"obs-{patient}-{n}",
        "system": "NEWS2",
        "chart": "news2",
        "total": total,
        "parameters": {"resp_rate": 2, "spo2": 1},
        "risk": "medium",
        "complete": True,
        "missing": [],
    }
    return ScoreRecord(
        obs_msg_id=f"obs-{patient}-{n}",
        time=datetime(2026, 11, 22, 9, n, tzinfo=UTC),
        patient_id=patient,
        ward="7A",
        bed=patient,
        system="NEWS2",
        chart="news2",
        total=total,
        risk="medium",
        complete=True,
        result=ENCODE(result),
    )


def batch(*scores: ScoreRecord) -> Output:
    out = Output()
    out.batch.scores.extend(scores)
    return out


async def until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_mllp_sender_retries_ae_buries_ar_and_keeps_each_patients_order(
    tmp_path: Path,
) -> None:
    async with endpoints() as (mllp, _):
        mllp.answers = ["AE", "AE"]  # the first message is refused twice, then taken
        scores = [score(p, n) for n in range(3) for p in ("PA", "PB")]
        settings = outbound_settings(tmp_path, mllp_host="127.0.0.1", mllp_port=mllp.port)
        outbound = Outbound(settings)
        doomed = str(
            hl7.parse(outbound.outgoing(batch(scores[3]))[0].body.decode()).segment("MSH")[10]
        )
        mllp.refuse = {doomed}
        async with outbound:
            await outbound.take(batch(*scores))
            await until(lambda: outbound.health()["endpoints"]["mllp"]["pending"] == 0)
            health = outbound.health()["endpoints"]["mllp"]
            assert outbound.queue is not None
            refused = await outbound.queue.refused_rows()
        assert (health["sent"], health["refused"], health["retries"]) == (5, 1, 2)
        [(target, _, reason)] = refused
        assert target == "mllp"
        assert "AR" in reason
        expected = {
            p: [
                str(hl7.parse(outbound.outgoing(batch(s))[0].body.decode()).segment("MSH")[10])
                for s in scores
                if s.patient_id == p
            ]
            for p in ("PA", "PB")
        }
        expected["PB"].remove(doomed)
        assert mllp.by_patient() == expected  # in order, each once, the refused one apart


async def test_endpoints_down_for_a_while_and_a_restart_lose_nothing(tmp_path: Path) -> None:
    """The FHIR server fails, then goes away; the sender is stopped (as a service stopped or
    killed) with messages queued; a new one on the same queue delivers every score exactly once
    (by id) once the server is back."""
    fhir = FhirServer()
    await fhir.start()
    fhir.fail = 3
    settings = outbound_settings(tmp_path, fhir_base=fhir.base)
    scores = [score(f"P{i}", i) for i in range(6)]
    async with Outbound(settings) as first:
        await first.take(batch(*scores[:3]))
        await until(lambda: len(fhir.stored) == 3)
        await fhir.stop()  # down
        await first.take(batch(*scores[3:]))
        await until(lambda: first.health()["endpoints"]["fhir"]["retries"] >= 5)
        assert first.health()["endpoints"]["fhir"]["pending"] == 3
        assert "ConnectError" in first.health()["endpoints"]["fhir"]["last_error"]
    await fhir.start()  # back, on the same port
    async with Outbound(settings) as second:
        assert second.health()["endpoints"]["fhir"]["pending"] == 3  # kept on disk
        await until(lambda: len(fhir.stored) == 6)
        await until(lambda: second.health()["endpoints"]["fhir"]["pending"] == 0)
    await fhir.stop()
    assert fhir.puts == 6 + 3  # each score once, plus the three answered 503
    for resource in fhir.stored.values():
        FhirObservation.model_validate(resource)
    assert {r["subject"]["identifier"]["value"] for r in fhir.stored.values()} == {
        f"P{i}" for i in range(6)
    }


async def test_the_news2_goes_back_to_a_fhir_server_and_an_mllp_endpoint(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """End to end: an observation in on MQTT; its NEWS2 out to the FHIR server, the MLLP
    endpoint, the alert manager (ACM), and on the topics."""
    w = f"W{uuid.uuid4().hex[:6]}"
    async with endpoints() as (mllp, fhir):
        acm = MllpReceiver()
        await acm.start()
        base = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}")
        settings = load_settings(
            None,
            {
                **{f"broker.{k}": v for k, v in msgspec.structs.asdict(base.broker).items()},
                **{f"store.{k}": v for k, v in msgspec.structs.asdict(base.store).items()},
                "http.port": 0,
                "scorer.max_age": base.scorer.max_age,
                "outbound.topics": True,
                "outbound.mllp_host": "127.0.0.1",
                "outbound.mllp_port": mllp.port,
                "outbound.acm_host": "127.0.0.1",
                "outbound.acm_port": acm.port,
                "outbound.fhir_base": fhir.base,
                "outbound.retry_first": 0.05,
            },
        )
        async with (
            running(settings, charts) as service,
            listening(mosquitto, f"wards/{w}/#") as heard,
        ):
            await send(
                mosquitto,
                (f"wards/{w}/beds/12/adt", adt("P001")),
                (f"wards/{w}/beds/12/obs", obs_json("P001", f"obs-{w}", CONTRACT_OBS)),
            )
            await until(lambda: fhir.stored and mllp.received and acm.received, 15)
            await heard.wait(
                lambda h: bool(h.on("/score/fhir") and h.on("/score/hl7v2") and h.on("/alerts/acm"))
            )
            await until(
                lambda: all(
                    e["pending"] == 0 for e in service.health()["outbound"]["endpoints"].values()
                )
            )
            health = service.health()["outbound"]["endpoints"]
        await acm.stop()
    [resource] = fhir.stored.values()
    FhirObservation.model_validate(resource)
    assert resource["valueInteger"] == 6
    assert resource["derivedFrom"][0]["identifier"]["value"] == f"obs-{w}"
    [(_, patient, text)] = mllp.received
    message = hl7.parse(text)
    total = message.segments("OBX")[0]
    assert (patient, str(total[5]), str(total[8])) == ("P001", "6", "HIGH")
    assert str(message.segment("PV1")[3]) == f"{w}^^12"
    [(_, _, alert_text)] = acm.received
    assert str(hl7.parse(alert_text).segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert heard.on("/score/fhir")[0]["id"] == resource["id"]
    assert {t: (e["pending"], e["sent"]) for t, e in health.items()} == {
        "mllp": (0, 1),
        "acm": (0, 1),
        "fhir": (0, 1),
    }


async def test_a_service_killed_with_minus_9_keeps_every_unsent_score(
    mosquitto: Mosquitto, tmp_path: Path, charts: ChartSet
) -> None:
    """`surveillance run` scores while the MLLP endpoint is down, and is killed with -9; the
    restarted service sends every score once the endpoint is up."""
    w = f"K{uuid.uuid4().hex[:6]}"
    port = free_port()
    spool = tmp_path / "spool"
    config = tmp_path / "service.toml"
    config.write_text(
        f"""
[broker]
url = "{mosquitto.url}"
client_id = "kill-{w}"
[store]
url = "sqlite:///{tmp_path / "run.db"}"
spool = "{spool}"
flush_interval = 0.02
[http]
port = 0
[scorer]
max_age = {20 * 365 * 86400.0}
[model]
enabled = false
[outbound]
mllp_host = "127.0.0.1"
mllp_port = {port}
retry_first = 0.05
retry_cap = 0.2
""",
        encoding="utf-8",
    )
    log = tmp_path / "run.log"
    n = 8
    with log.open("ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "surveillance.cli", "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 20
        while "connected to" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.05)
        async with listening(mosquitto, f"wards/{w}/beds/+/score") as heard:
            await send(
                mosquitto,
                *[(f"wards/{w}/beds/{i}/adt", adt(f"{w}-{i}")) for i in range(n)],
                *[
                    (f"wards/{w}/beds/{i}/obs", obs_json(f"{w}-{i}", f"o-{w}-{i}", CONTRACT_OBS))
                    for i in range(n)
                ],
            )
            await heard.wait(lambda h: len(h.messages) >= n)
    finally:
        process.kill()  # kill -9: nothing was sent (the endpoint is down)
        process.wait()
    settings = load_settings(config)
    async with OutboundQueue(settings.outbound_queue_path()) as queue:  # on disk at the kill
        assert queue.pending == {"mllp": n}
    receiver = MllpReceiver(port=port)
    await receiver.start()
    try:
        async with running(settings, charts) as service:
            await until(lambda: len(receiver.received) >= n, 15)
            await asyncio.sleep(0.2)
            assert service.health()["outbound"]["endpoints"]["mllp"]["pending"] == 0
    finally:
        await receiver.stop()
    patients = sorted(patient for _, patient, _ in receiver.received)
    assert patients == sorted(f"{w}-{i}" for i in range(n))  # each once: none lost, none twice


async def test_a_correction_replaces_the_observation_it_corrects_on_the_fhir_server(
    tmp_path: Path,
) -> None:
    """A score, then the score of a correction of its readings (`corrects` names the first
    observation): the FHIR server ends with one Observation, the corrected one, status
    `corrected`; the correction is queued under its own key, so it is never taken for the
    original already sent."""
    fhir = FhirServer()
    await fhir.start()
    settings = outbound_settings(tmp_path, fhir_base=fhir.base)
    wrong = score("P1", 1, total=7)
    fixed = score("P1", 2, total=3)
    result = msgspec.json.decode(fixed.result)
    fixed = dataclasses.replace(
        fixed, result=ENCODE({**result, "time": "2026-11-22T09:01:00Z", "corrects": ["obs-P1-1"]})
    )
    async with Outbound(settings) as outbound:
        await outbound.take(batch(wrong))
        await until(lambda: len(fhir.stored) == 1)
        await outbound.take(batch(fixed))
        await until(lambda: fhir.puts == 2)
        await until(lambda: outbound.health()["endpoints"]["fhir"]["pending"] == 0)
    await fhir.stop()
    [(oid, resource)] = fhir.stored.items()
    assert oid == score_resource_id(msgspec.json.decode(wrong.result))
    assert resource["status"] == "corrected"
    assert resource["valueInteger"] == 3
    assert "obs-P1-1" in resource["note"][0]["text"]
    FhirObservation.model_validate(resource)
