"""`surveillance mllp` over real sockets: python-hl7's MLLP client, a private Mosquitto, and
(end to end) the service itself.

A PAS's ADT over MLLP places, moves and discharges a patient, with an ACK for each; a monitor
gateway's ORU^R01 is scored. The listener survives slow, partial, oversized, malformed and
non-UTF-8 frames, many clients at once, and a broker it cannot reach (AE, never AA).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiomqtt
import hl7  # type: ignore[import-untyped]
import pytest
from hl7.mllp import open_hl7_connection  # type: ignore[import-untyped]

from scoring import ChartSet
from surveillance import MllpListener, Settings, load_settings
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import listening, running, settings_for

# Patient ids of this session only: the ADTs these tests publish are retained with today's
# times, and a later test on the same broker admitting its own "P1" (at an older time) would
# find that patient already placed, later, elsewhere.
P: str = f"MLLP{uuid.uuid4().hex[:6]}-"
P1 = f"{P}1"

pytestmark = pytest.mark.mqtt

VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S+0000")


def adt(trigger: str, control: str, pv1_3: str, *, when: datetime, patient: str = P1) -> str:
    return "\r".join(
        [
            f"MSH|^~\\&|PAS|TRUST|SURV|TRUST|{stamp(when)}||ADT^{trigger}^ADT_A01|{control}|P|2.5",
            f"EVN|{trigger}|{stamp(when)}",
            f"PID|1||{patient}^^^TRUST^MR||DOE^JANE||19480302|F",
            f"PV1|1|I|{pv1_3}||||||||||||||||V1",
        ]
    )


def oru(control: str, pv1_3: str, *, when: datetime, patient: str = P1, spo2: int = 88) -> str:
    t = stamp(when)
    return "\r".join(
        [
            f"MSH|^~\\&|GW|ICU|SURV|TRUST|{t}||ORU^R01^ORU_R01|{control}|P|2.6",
            f"PID|||{patient}^^^TRUST^MR",
            f"PV1||I|{pv1_3}",
            f"OBR|1|||182777000^monitoring of patient^SNOMED-CT|||{t}",
            f"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|{spo2}|262688^MDC_DIM_PERCENT^MDC|||||R|||{t}",
            f"OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|2|125|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||{t}",
            f"OBX|3|NM|151562^MDC_RESP_RATE^MDC|3|26|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R|||{t}",
        ]
    )


def listener_settings(broker_url: str, tmp_path: Path, ward: str, **mllp: Any) -> Settings:
    return load_settings(
        None,
        {
            "broker.url": broker_url,
            "broker.client_id": f"mllp-test-{uuid.uuid4().hex[:8]}",
            "mllp.port": 0,
            "mllp.journal": str(tmp_path / f"mllp-{uuid.uuid4().hex[:6]}.db"),
            "mllp.publish_timeout": 2.0,
            "mllp.locations": [
                {"point_of_care": f"PAS-{ward}", "ward": ward, "cohort": "adult"},
            ],
            **{f"mllp.{k}": v for k, v in mllp.items()},
        },
    )


@contextlib.asynccontextmanager
async def serving(settings: Settings, *, broker: bool = True) -> AsyncIterator[MllpListener]:
    async with MllpListener(settings) as listener:
        if broker:
            await asyncio.wait_for(listener.wait_broker(), 10)
        yield listener


class Client:
    """python-hl7's MLLP client: one connection, a message, then its ACK."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: str | bytes) -> Any:
        self.writer.writeblock(message.encode() if isinstance(message, str) else message)
        await self.writer.drain()
        return await self.answer()

    async def answer(self) -> Any:
        block = await asyncio.wait_for(self.reader.readblock(), 10)
        return hl7.parse(block.decode())


@contextlib.asynccontextmanager
async def client(listener: MllpListener) -> AsyncIterator[Client]:
    reader, writer = await open_hl7_connection("127.0.0.1", listener.port)
    try:
        yield Client(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def msa(message: Any) -> tuple[str, str, str]:
    segment = message.segment("MSA")
    return str(segment[1]), str(segment[2]), str(segment[3]) if len(segment) > 3 else ""


def err_code(message: Any) -> str:
    return str(message.segment("ERR")[3][0][3])


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the listener closed the connection without a word (a reset counts: it comes
    when it closed with bytes of ours unread)."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


def w() -> str:
    return f"M{uuid.uuid4().hex[:6]}"


_OURS: Final = re.compile(r"wards/M[0-9a-f]{6}/")


@pytest.fixture(autouse=True)
async def _clear_retained(mosquitto: Mosquitto) -> AsyncIterator[None]:
    """After each test, the retained ADTs its listener published on its wards are cleared: a
    later test's service on the same broker would otherwise receive them (today's admissions,
    some the scorer refuses) and count their dead letters as its own."""
    yield
    found: set[str] = set()
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, identifier=f"clear-{uuid.uuid4().hex[:8]}"
    ) as client:
        await client.subscribe("wards/+/beds/+/adt", qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                async for message in client.messages:
                    topic = message.topic.value
                    if message.retain and message.payload and _OURS.match(topic):
                        found.add(topic)
        for topic in found:
            await client.publish(topic, b"", qos=1, retain=True)


async def test_a_pas_places_moves_and_discharges_a_patient_over_mllp(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    service_settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}")
    async with (
        running(service_settings, charts),
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        listening(mosquitto, f"wards/{ward}/#", "surveillance/deadletter") as heard,
        client(listener) as pas,
    ):
        here = f"PAS-{ward}"
        ack = await pas.send(adt("A01", f"{ward}-1", f"{here}^R1^1", when=now))
        assert msa(ack)[:2] == ("AA", f"{ward}-1")
        assert str(ack.segment("MSH")[9]) == "ACK^A01^ACK"
        ack = await pas.send(oru(f"{ward}-2", f"{here}^^1", when=now + timedelta(seconds=1)))
        assert msa(ack)[0] == "AA"
        await heard.wait(lambda h: bool(h.on(f"{ward}/beds/1/score")))
        [score] = heard.on(f"{ward}/beds/1/score")
        assert (score["patient_id"], score["obs_msg_id"]) == (P1, f"{ward}-2")
        assert score["parameters"]["spo2"] == 3  # SpO2 88 on scale 1

        # A transfer to bed 2: the old bed empties, the monitor there now scores the patient.
        later = now + timedelta(seconds=10)
        ack = await pas.send(adt("A02", f"{ward}-3", f"{here}^R1^2", when=later))
        assert msa(ack)[0] == "AA"
        ack = await pas.send(oru(f"{ward}-4", f"{here}^^2", when=later + timedelta(seconds=1)))
        assert msa(ack)[0] == "AA"
        await heard.wait(lambda h: bool(h.on(f"{ward}/beds/2/score")))
        [moved] = heard.on(f"{ward}/beds/2/score")
        assert (moved["patient_id"], moved["ward"], moved["bed"]) == (P1, ward, "2")

        # A discharge: the bed empties, and a reading sent there is no one's.
        end = later + timedelta(seconds=10)
        ack = await pas.send(adt("A03", f"{ward}-5", f"{here}^R1^2", when=end))
        assert msa(ack)[0] == "AA"
        ack = await pas.send(oru(f"{ward}-6", f"{here}^^2", when=end + timedelta(seconds=1)))
        assert msa(ack)[0] == "AA"  # taken: the scorer decides, and dead-letters it
        await heard.wait(lambda h: any(d.get("msg_id") == f"{ward}-6" for d in h.on("deadletter")))
        [letter] = [d for d in heard.on("deadletter") if d.get("msg_id") == f"{ward}-6"]
        assert letter["error"] == "no-context"
        adts = [doc["event"] for doc in heard.on("/adt")]
        assert adts == ["admit", "transfer", "discharge"]
        assert listener.counters.accepted == 6

        # The cancellations: A13 puts them back in bed 2; an A02 to bed 3 cancelled by A12
        # (PV1-3: the location before the transfer) brings them back to bed 2; A11 cancels the
        # admission: the bed empties.
        t = end + timedelta(seconds=10)
        for n, (trigger, bed) in enumerate([("A13", 2), ("A02", 3), ("A12", 2)], 7):
            ack = await pas.send(
                adt(trigger, f"{ward}-{n}", f"{here}^R1^{bed}", when=t + timedelta(seconds=n))
            )
            assert msa(ack)[0] == "AA"
        ack = await pas.send(oru(f"{ward}-10", f"{here}^^2", when=t + timedelta(seconds=11)))
        assert msa(ack)[0] == "AA"
        await heard.wait(lambda h: any(s["obs_msg_id"] == f"{ward}-10" for s in h.on("/score")))
        ack = await pas.send(
            adt("A11", f"{ward}-11", f"{here}^R1^2", when=t + timedelta(seconds=12))
        )
        assert msa(ack)[0] == "AA"
        ack = await pas.send(oru(f"{ward}-12", f"{here}^^2", when=t + timedelta(seconds=13)))
        await heard.wait(lambda h: any(d.get("msg_id") == f"{ward}-12" for d in h.on("deadletter")))
        adts = [doc["event"] for doc in heard.on("/adt")]
        assert adts[3:] == ["admit", "transfer", "transfer", "discharge"]
        scored = [(s["obs_msg_id"], s["bed"]) for s in heard.on("/score")]
        assert scored == [(f"{ward}-2", "1"), (f"{ward}-4", "2"), (f"{ward}-10", "2")]


async def test_what_cannot_be_taken_is_answered_ar_and_dead_lettered(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    settings = listener_settings(mosquitto.url, tmp_path, ward, max_frame_bytes=2048)
    async with (
        serving(settings) as listener,
        listening(mosquitto, "surveillance/deadletter") as heard,
        client(listener) as pas,
    ):
        cases: list[tuple[str | bytes, str, str]] = [
            (
                adt("A01", f"{ward}-u", "NOWHERE^1^1", when=now),
                "placement",
                "not in the location map",
            ),
            (adt("A05", f"{ward}-p", f"PAS-{ward}^1^1", when=now), "not-hl7", "A05 is not read"),
            ("PID|not a message", "not-hl7", "MSH"),
            (
                b"MSH|^~\\&|PAS||||||ADT^A01|" + ward.encode() + b"-x|P|2.5\rPID|||\xff",
                "not-utf8",
                "UTF-8",
            ),
            (
                "MSH|^~\\&|PAS||||||ADT^A01|" + ward + "-big|P|2.5\r" + "NTE|" + "x" * 6000,
                "oversize",
                "over the limit",
            ),
        ]
        for message, error, words in cases:
            ack = await pas.send(message)
            code, _, text = msa(ack)
            assert code == "AR", text
            assert words in text
            assert err_code(ack) == error
        # The oversize frame is answered by its control id, read from its head.
        assert msa(ack)[1] == f"{ward}-big"
        await heard.wait(
            lambda h: len([d for d in h.on("deadletter") if d["topic"] == "mllp"]) >= 5
        )
        letters = {d["error"]: d for d in heard.on("deadletter") if d["topic"] == "mllp"}
        assert set(letters) >= {"placement", "not-hl7", "not-utf8", "oversize"}
        assert letters["not-utf8"]["encoding"] == "base64"
        assert letters["oversize"]["truncated"] is True
        assert letters["oversize"]["size"] > 6000
        # The connection is still good.
        ack = await pas.send(adt("A01", f"{ward}-ok", f"PAS-{ward}^1^1", when=now))
        assert msa(ack)[0] == "AA"
        assert listener.counters.refused == 5


async def test_a_repeat_is_answered_aa_and_published_once_and_a_reused_id_is_refused(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    settings = listener_settings(mosquitto.url, tmp_path, ward)
    message = adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now)
    async with (
        listening(mosquitto, f"wards/{ward}/#") as heard,
        serving(settings) as listener,
        client(listener) as pas,
    ):
        assert msa(await pas.send(message))[0] == "AA"
        ack = await pas.send(message.replace("\r", "\n"))  # the same, other line ends
        assert msa(ack)[0] == "AA"
        assert "repeat" in msa(ack)[2]
        other = adt("A01", f"{ward}-1", f"PAS-{ward}^1^2", when=now)
        ack = await pas.send(other)
        assert msa(ack)[0] == "AR"
        assert err_code(ack) == "conflict"
        await heard.wait(lambda h: bool(h.messages))
        await asyncio.sleep(0.3)
        assert len(heard.on("/adt")) == 1
        assert listener.counters.repeats == 1
    # A restarted listener remembers (its journal).
    async with serving(settings) as again, client(again) as pas:
        ack = await pas.send(message)
        assert msa(ack)[0] == "AA"
        assert again.counters.repeats == 1


async def test_an_update_applies_only_where_the_patient_is(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    here = f"PAS-{ward}"
    async with (
        listening(mosquitto, f"wards/{ward}/#") as heard,
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        client(listener) as pas,
    ):
        ack = await pas.send(adt("A08", f"{ward}-0", f"{here}^1^1", when=now))
        assert msa(ack)[0] == "AA"
        assert "no bed to update" in msa(ack)[2]
        assert msa(await pas.send(adt("A01", f"{ward}-1", f"{here}^1^1", when=now)))[0] == "AA"
        ack = await pas.send(adt("A08", f"{ward}-2", f"{here}^1^1", when=now))
        assert msa(ack)[0] == "AA"
        assert "published" in msa(ack)[2]
        ack = await pas.send(adt("A08", f"{ward}-3", f"{here}^1^5", when=now))
        assert msa(ack)[0] == "AR"
        assert "send A02" in msa(ack)[2]
        await heard.wait(lambda h: len(h.on("/adt")) >= 2)
        assert [d["msg_id"] for d in heard.on("/adt")] == [f"{ward}-1", f"{ward}-2"]


async def test_a_broker_it_cannot_reach_gets_ae_never_aa(tmp_path: Path) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    settings = listener_settings("mqtt://127.0.0.1:1", tmp_path, ward)
    async with serving(settings, broker=False) as listener, client(listener) as pas:
        ack = await pas.send(adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now))
        code, control, text = msa(ack)
        assert (code, control) == ("AE", f"{ward}-1")
        assert "send it again" in text
        # Not remembered as accepted: the resend is tried again, not taken as a repeat.
        ack = await pas.send(adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now))
        assert msa(ack)[0] == "AE"
        assert listener.counters.answers == {"AE": 2}


async def test_hostile_framing_slow_partial_junk_and_many_clients(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    settings = listener_settings(
        mosquitto.url, tmp_path, ward, idle_timeout=0.5, max_connections=30
    )

    def message(n: int) -> bytes:
        return adt("A01", f"{ward}-{n}", f"PAS-{ward}^1^{n}", when=now, patient=f"{P}{n}").encode()

    async with serving(settings) as listener:
        host, port = "127.0.0.1", listener.port
        # A byte at a time, with junk before and between frames.
        reader, writer = await asyncio.open_connection(host, port)
        stream = b"junk\r\n" + VT + message(1) + FS + CR + b"\x00\xff" + VT + message(2) + FS + CR
        for byte in stream:
            writer.write(bytes([byte]))
            await writer.drain()
        for _ in range(2):
            await reader.readuntil(FS + CR)
        assert listener.counters.answers == {"AA": 2}
        assert listener.counters.junk_bytes == 8
        # A partial frame, then the peer goes away: nothing answered, nothing published.
        writer.write(VT + message(3)[:40])
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        # A client that says nothing is closed after the idle timeout.
        reader, writer = await asyncio.open_connection(host, port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        assert listener.counters.partial_frames == 1
        assert listener.counters.idle_closed >= 1

        # Twenty PAS connections at once, each with a message.
        async def one(n: int) -> str:
            async with client(listener) as pas:
                return str(msa(await pas.send(message(n)))[0])

        codes = await asyncio.gather(*(one(n) for n in range(10, 30)))
        assert codes == ["AA"] * 20
        assert listener.counters.accepted == 22


async def test_connections_beyond_the_limit_are_closed(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = listener_settings(mosquitto.url, tmp_path, w(), max_connections=1)
    async with serving(settings) as listener:
        first = await asyncio.open_connection("127.0.0.1", listener.port)
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert listener.counters.refused_connections == 1
        writer.close()
        first[1].close()


async def test_the_broker_going_away_gives_ae_until_it_is_back(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    here = f"PAS-{ward}"
    settings = listener_settings(mosquitto.url, tmp_path, ward, publish_timeout=1.0)
    async with serving(settings) as listener, client(listener) as pas:
        mosquitto.stop()
        try:
            ack = await pas.send(adt("A01", f"{ward}-1", f"{here}^1^1", when=now))
            assert msa(ack)[0] == "AE"
            assert "send it again" in msa(ack)[2]
        finally:
            mosquitto.start()
        await asyncio.wait_for(listener.wait_broker(), 15)
        # The PAS sends it again (corrected meanwhile: never published, so not a conflict).
        ack = await pas.send(adt("A01", f"{ward}-1", f"{here}^1^2", when=now))
        assert msa(ack)[0] == "AA"


@pytest.mark.parametrize(("offset", "words"), [(3600, "ahead"), (-30 * 86400, "old")])
async def test_an_adt_out_of_the_scorers_time_bounds_is_refused(
    mosquitto: Mosquitto, tmp_path: Path, offset: int, words: str
) -> None:
    ward = w()
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=offset)
    async with (
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        client(listener) as pas,
    ):
        ack = await pas.send(adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=when))
        assert msa(ack)[0] == "AR"
        assert err_code(ack) == "time"
        assert words in msa(ack)[2]


async def test_a_message_that_trips_a_bug_is_set_aside_and_the_log_names_no_one(
    mosquitto: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("PATIENT-SECRET-7")

    caplog.set_level(logging.DEBUG)
    async with (
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        listening(mosquitto, "surveillance/deadletter") as heard,
        client(listener) as pas,
    ):
        monkeypatch.setattr("surveillance._mllp.translate", broken)
        message = adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now, patient="PATIENT-SECRET-7")
        ack = await pas.send(message)
        assert msa(ack)[0] == "AR"
        assert err_code(ack) == "internal"
        await heard.wait(lambda h: any(d.get("msg_id") == f"{ward}-1" for d in h.on("deadletter")))
        monkeypatch.undo()
        assert msa(await pas.send(message.replace(f"{ward}-1", f"{ward}-2")))[0] == "AA"
    assert "KeyError raised at" in caplog.text
    assert "PATIENT-SECRET-7" not in caplog.text


@pytest.mark.process
async def test_surveillance_mllp_runs_answers_and_stops_on_sigterm(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The command as an operator runs it: a settings file, a PAS client, then SIGTERM."""
    ward = w()
    config = tmp_path / "service.toml"
    config.write_text(
        f'[broker]\nurl = "{mosquitto.url}"\nclient_id = "mllp-{ward}"\n'
        f'[mllp]\nport = 0\njournal = "{tmp_path / "journal.db"}"\n'
        f'[[mllp.locations]]\npoint_of_care = "PAS-{ward}"\nward = "{ward}"\ncohort = "adult"\n'
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "surveillance.cli",
        "mllp",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        port, connected = None, False
        async with asyncio.timeout(20):
            while port is None or not connected:
                line = (await process.stderr.readline()).decode()
                assert line, "the listener exited"
                if match := re.search(r"MLLP listener on 127\.0\.0\.1:(\d+)", line):
                    port = int(match.group(1))
                connected = connected or "connected to" in line
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        pas = Client(reader, writer)
        now = datetime.now(UTC).replace(microsecond=0)
        ack = await pas.send(adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now))
        assert msa(ack)[:2] == ("AA", f"{ward}-1")
        writer.close()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_frame_trickled_too_slowly_is_cut_off(mosquitto: Mosquitto, tmp_path: Path) -> None:
    settings = listener_settings(mosquitto.url, tmp_path, w(), idle_timeout=5.0, frame_timeout=0.6)
    async with serving(settings) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        start = asyncio.get_running_loop().time()
        writer.write(VT)
        with contextlib.suppress(ConnectionError):
            for byte in b"MSH|^~\\&|PAS|" * 10:  # a byte every 0.1 s: never idle, never done
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)
                if reader.at_eof():
                    break
        assert await closed(reader)
        assert asyncio.get_running_loop().time() - start < 3
        assert listener.counters.slow_closed == 1
        writer.close()


async def test_stopping_with_clients_connected_closes_them_cleanly(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(listener_settings(mosquitto.url, tmp_path, w())) as listener:
        opened = [await asyncio.open_connection("127.0.0.1", listener.port) for _ in range(3)]
        opened[0][1].write(VT + b"MSH|^~\\&|half a frame")
        await asyncio.sleep(0.1)
    for reader, writer in opened:
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_sender_not_in_allowed_peers_is_closed_unanswered(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ward = w()
    settings = listener_settings(mosquitto.url, tmp_path, ward, allowed_peers=["192.0.2.0/24"])
    async with serving(settings) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        now = datetime.now(UTC)
        with contextlib.suppress(ConnectionError):
            writer.write(
                VT + adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=now).encode() + FS + CR
            )
            await writer.drain()
        assert await closed(reader)
        assert listener.counters.refused_connections == 1
        assert listener.counters.answers == {}
        writer.close()
