"""The real service and the simulator through the shipped locked-down broker, each as itself.

`surveillance run` logs in over mqtts:// as the scorer (`ward-surveillance`), with the
wallboard it serves as `ward-surveillance-board`, trusting the session's throwaway CA through
`[broker] ca_file`; `surveillance simulate` publishes as `simulator` with `--password-env`
and `--ca-file`. Every simulated message must get through (a refused one would be dropped,
and on Mosquitto 2.0.11 would cost the simulator its connection), be scored, and reach the
board. `surveillance demo` keeps its own open broker, on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from surveillance import in_process_broker
from surveillance.store import ScoreRecord, open_store
from tests.mqtt_broker import _free_port
from tests.mqtt_locked import WITNESS, LockedMosquitto, client, receiving
from tests.nats_locked import LockedNats

pytestmark = pytest.mark.process

INPUT = re.compile(r"wards/[^/]+/beds/[^/]+/(adt|obs|fhir|hl7v2|labs|plan|event)|simulation/truth")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http URL
        return json.load(response)


async def surveillance(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "surveillance.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(params=["mosquitto", "nats"])
def locked(request: pytest.FixtureRequest) -> LockedMosquitto | LockedNats:
    """Each shipped locked-down broker in turn: Mosquitto's, and NATS's (production)."""
    broker: LockedMosquitto | LockedNats = request.getfixturevalue(f"locked_{request.param}")
    return broker


async def test_the_service_and_the_simulator_work_through_the_locked_broker_as_themselves(
    locked: LockedMosquitto | LockedNats, tmp_path: Path
) -> None:
    """Through NATS, scores (which only the scorer may publish) and the simulator's truth (only
    the simulator) arriving show each logged in as itself; Mosquitto's log names them too."""
    broker = locked
    http = _free_port()
    db = tmp_path / "locked.db"
    config = tmp_path / "service.toml"
    config.write_text(
        f'[broker]\nurl = "mqtts://ward-surveillance@localhost:{broker.tls_port}"\n'
        f'password_env = "TEST_SCORER_PASSWORD"\nca_file = "{broker.ca_file}"\n'
        'wallboard_username = "ward-surveillance-board"\n'
        'wallboard_password_env = "TEST_BOARD_PASSWORD"\n'
        f'[store]\nurl = "sqlite:///{db}"\n[http]\nport = {http}\n'
    )
    env = {
        "TEST_SCORER_PASSWORD": broker.password("ward-surveillance"),
        "TEST_BOARD_PASSWORD": broker.password("ward-surveillance-board"),
        "TEST_SIMULATOR_PASSWORD": broker.password("simulator"),
    }
    # The simulated wards depend on the time of day: a stream starting at 02:00 UTC holds all
    # three device formats for this seed (at 03:30 no HL7 device is in use), so the latest
    # 02:00 whose two hours are over (within the service's max_age of a week).
    start_at = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    if start_at > datetime.now(UTC) - timedelta(hours=2):
        start_at -= timedelta(days=1)
    start = start_at.strftime("%Y-%m-%dT%H:%M:00Z")
    async with client(broker, WITNESS) as w, receiving(w, "#") as seen:
        service = await surveillance("run", "--config", str(config), "--auth", "none", env=env)
        try:
            assert service.stderr is not None
            said: list[str] = []
            async with asyncio.timeout(30):
                while "wallboard at" not in (line := (await service.stderr.readline()).decode()):
                    assert line, "the service stopped: " + "".join(said)
                    said.append(line)
            simulator = await surveillance(
                "simulate",
                "--wards", "2", "--ward-kinds", "medical,surgical", "--beds", "3",
                "--hours", "2", "--start", start, "--seed", "1", "--speed", "0", "--no-progress",
                "--mode", "continuous", "--fhir-share", "0.4", "--hl7-share", "0.3",
                "--broker", f"mqtts://simulator@localhost:{broker.tls_port}",
                "--password-env", "TEST_SIMULATOR_PASSWORD", "--ca-file", str(broker.ca_file),
                env=env,
            )  # fmt: skip
            _, err = await asyncio.wait_for(simulator.communicate(), 120)
            assert simulator.returncode == 0, err.decode()
            found = re.search(r"simulate: (\d+) messages", err.decode())
            assert found, err.decode()
            sent = int(found.group(1))
            assert sent > 500  # two hours of six beds, each with a device

            def live_inputs() -> set[tuple[str, bytes]]:
                return {
                    (t, p) for t, p, retained in seen.messages if not retained and INPUT.match(t)
                }

            def scored(ward: str) -> bool:
                return any(
                    t.startswith(f"wards/{ward}/beds/") and t.endswith("/score") and not retained
                    for t, _, retained in seen.messages
                )

            await seen.wait(
                lambda _: len(live_inputs()) >= sent and scored("MED1") and scored("SURG1")
            )
            # Every message the simulator sent got through, in every format (a refused one
            # would be missing: repeats after a reconnection are counted once).
            assert len(live_inputs()) == sent
            kinds = {t.rsplit("/", 1)[-1] for t, _ in live_inputs()}
            # (clinical events as well when one falls in the window: the simulator may send
            # them, `config/mosquitto.acl`)
            assert {"adt", "obs", "fhir", "hl7v2", "truth"} <= kinds <= {
                "adt", "obs", "fhir", "hl7v2", "truth", "event",
            }  # fmt: skip
            url = f"http://127.0.0.1:{http}"
            async with asyncio.timeout(20):
                while not {"MED1", "SURG1"} <= set(
                    (await asyncio.to_thread(get, f"{url}/api/wards"))["wards"]
                ):
                    await asyncio.sleep(0.2)
            beds = (await asyncio.to_thread(get, f"{url}/api/wards/MED1"))["beds"]
            assert any(bed["score"] for bed in beds)
            health = await asyncio.to_thread(get, f"{url}/healthz")
            assert health["ok"]
            assert health["broker"]["connected"]
        finally:
            with contextlib.suppress(ProcessLookupError):
                service.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(service.communicate(), 30)
    assert service.returncode == 0, rest.decode()
    async with open_store(f"sqlite:///{db}") as store:
        assert await store.fetch(ScoreRecord)
    if isinstance(broker, LockedNats):
        return
    # Each logged in as itself, its client id its user name (the board's asked-for id was
    # ward-surveillance-wallboard-HOST-PORT).
    log = broker.log_text()
    for name in ("ward-surveillance", "ward-surveillance-board", "simulator"):
        assert f" as {name} (p4, c" in log or f" as {name} (p2, c" in log, name
        assert f"u'{name}')" in log


async def test_the_demo_broker_stays_open_but_on_127_0_0_1_only() -> None:
    """`surveillance demo`'s in-process broker takes anonymous clients, reachable from this
    machine only: bound to 127.0.0.1, not to every address (127.0.0.2 is refused)."""
    async with in_process_broker() as port:
        async with aiomqtt.Client("127.0.0.1", port, identifier="anonymous-demo-client") as c:
            await c.publish("wards/X/beds/1/obs", b"{}", qos=1)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=2).close()


def adt(patient: str) -> bytes:
    return json.dumps(
        {
            "msg_id": f"adt-{patient}",
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": "admit",
            "patient_id": patient,
            "cohort": "adult",
            "birth_date": "1948-03-02",
        }
    ).encode()


async def test_a_ward_board_server_logs_in_as_itself_and_sees_only_its_ward(
    locked: LockedMosquitto | LockedNats, tmp_path: Path
) -> None:
    """`surveillance wallboard` as `board-MED1` (a board server for ward MED1 only): a SURG1
    admission, live or retained, never reaches it; MED1's does. It subscribes to its ward only
    (`wallboard_wards`): NATS refuses its subscriptions to every ward (without the setting this
    test times out on NATS, the board showing nothing)."""
    broker, http, tag = locked, _free_port(), os.urandom(4).hex()
    config = tmp_path / "board.toml"
    config.write_text(
        f'[broker]\nurl = "mqtts://board-MED1@localhost:{broker.tls_port}"\n'
        f'password_env = "TEST_BOARD_PASSWORD"\nca_file = "{broker.ca_file}"\n'
        f'client_id = "board-MED1"\nwallboard_wards = ["MED1"]\n[store]\nurl = "sqlite:///{tmp_path / "b.db"}"\n'
        f"[http]\nport = {http}\n"
    )
    board = await surveillance(
        "wallboard",
        "--config",
        str(config),
        "--auth",
        "none",
        env={"TEST_BOARD_PASSWORD": broker.password("board-MED1")},
    )
    url = f"http://127.0.0.1:{http}"
    try:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(OSError):
                    if (await asyncio.to_thread(get, f"{url}/healthz"))["broker"]["connected"]:
                        break
                await asyncio.sleep(0.2)
        async with client(broker, "pas-gateway") as c:
            await c.publish(f"wards/SURG1/beds/s{tag}/adt", adt(f"S{tag}"), qos=1)
        async with client(broker, "pas-gateway") as c:
            await c.publish(f"wards/MED1/beds/m{tag}/adt", adt(f"M{tag}"), qos=1)
        async with asyncio.timeout(20):
            while "MED1" not in (
                wards := (await asyncio.to_thread(get, f"{url}/api/wards"))["wards"]
            ):
                await asyncio.sleep(0.2)
        assert wards == ["MED1"]  # the SURG1 admission came first and never arrived
        beds = (await asyncio.to_thread(get, f"{url}/api/wards/MED1"))["beds"]
        assert f"m{tag}" in [bed["bed"] for bed in beds]
    finally:
        board.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(board.communicate(), 30)
    assert board.returncode == 0, err.decode()
    assert "refused the subscription" not in err.decode()
    if isinstance(broker, LockedMosquitto):
        assert "as board-MED1 (p" in broker.log_text()
