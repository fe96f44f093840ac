"""`surveillance simulate` and `surveillance replay` as a user runs them (subprocesses)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import msgspec
import pytest

from simulators import read_meta, read_recording
from tests.mqtt_broker import Mosquitto

CLI = [sys.executable, "-m", "surveillance.cli"]


def surveillance(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.process
def test_simulate_records_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    files = [tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"]
    for path, seed in zip(files, ("4", "4", "5"), strict=True):
        done = surveillance(
            "simulate", "--beds", "6", "--hours", "6", "--seed", seed, "--record", path
        )
        assert done.returncode == 0, done.stderr
        assert "events/s" in done.stderr
    assert files[0].read_bytes() == files[1].read_bytes() != files[2].read_bytes()
    assert read_meta(files[0])["seed"] == 4
    assert read_meta(files[0])["wards"] == ["MED1"]


@pytest.mark.process
def test_recordings_hold_the_clinical_events_unless_told_not_to(tmp_path: Path) -> None:
    """`simulate --record` writes the CONTRACT §9 events beside the ground truth (which stays);
    `--no-events` leaves them out and says so in the recording's header."""
    with_events, without = tmp_path / "e.jsonl", tmp_path / "n.jsonl"
    common = ["--wards", "2", "--beds", "20", "--hours", "48", "--seed", "3"]
    assert surveillance("simulate", *common, "--record", with_events).returncode == 0
    assert surveillance("simulate", *common, "--no-events", "--record", without).returncode == 0
    recorded = list(read_recording(with_events))
    events = [m for m in recorded if m.topic.endswith("/event")]
    kinds = {msgspec.json.decode(m.payload)["event"] for m in events}
    assert "rrt-call" in kinds
    assert any(m.topic == "simulation/truth" for m in recorded)
    assert read_meta(with_events)["events"] is True
    assert read_meta(without)["events"] is False
    assert [m for m in recorded if not m.topic.endswith("/event")] == list(read_recording(without))


@pytest.mark.process
def test_an_inequity_is_built_in_only_when_asked_and_named_in_the_header(tmp_path: Path) -> None:
    fair, biased = tmp_path / "f.jsonl", tmp_path / "b.jsonl"
    common = ["--wards", "1", "--beds", "20", "--hours", "12", "--seed", "6", "--mode", "manual"]
    assert surveillance("simulate", *common, "--record", fair).returncode == 0
    done = surveillance(
        "simulate", *common, "--inequity", "spo2-overread", "--inequity", "night-escalation",
        "--record", biased,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_meta(fair)["inequity"] == []
    assert read_meta(biased)["inequity"] == ["spo2-overread", "night-escalation"]
    assert list(read_recording(fair)) != list(read_recording(biased))
    done = surveillance("simulate", *common, "--inequity", "skin", "--record", fair)
    assert done.returncode == 2
    assert "invalid choice: 'skin'" in done.stderr


@pytest.mark.process
def test_simulate_refuses_bad_options_with_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    for args, reason in [
        (["--device-interval", "0"], "device-interval"),
        (["--ward-kinds", "medical,icu"], "unknown ward kind 'icu'"),
        (["--start", "2026-11-22T07:00:00"], "no offset"),
        (["--speed", "-1"], "--speed"),
    ]:
        done = surveillance("simulate", *args, "--record", out)
        assert done.returncode == 2, args
        assert reason in done.stderr
    done = surveillance("simulate", "--record", out, "--broker", "mqtt://x")
    assert done.returncode == 2  # one destination only
    done = surveillance("simulate", "--broker", "http://localhost")
    assert done.returncode == 2
    assert "expected mqtt://" in done.stderr


@pytest.mark.process
def test_replay_of_a_missing_or_bad_file_fails_clearly(tmp_path: Path) -> None:
    done = surveillance("replay", tmp_path / "none.jsonl", "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 1
    assert "none.jsonl" in done.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    done = surveillance("replay", bad, "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 1
    assert "not a ward-surveillance recording" in done.stderr


async def test_record_then_replay_to_a_broker_delivers_every_message(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """The README's path: record a ward, replay it at 600× with a progress bar, all arrive."""
    path = tmp_path / "ward.jsonl.gz"
    done = surveillance("simulate", "--beds", "8", "--hours", "1", "--seed", "2", "--record", path)
    assert done.returncode == 0, done.stderr
    expected = list(read_recording(path))
    prefix = f"cli-{time.monotonic_ns()}/"
    received: list[tuple[str, bytes]] = []

    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as subscriber:
        await subscriber.subscribe(f"{prefix}#", qos=1)
        process = await asyncio.create_subprocess_exec(
            *CLI,
            "replay",
            str(path),
            "--broker",
            mosquitto.url,
            "--speed",
            "600",
            "--prefix",
            prefix,
            stderr=asyncio.subprocess.PIPE,
        )

        async def collect() -> None:
            async for message in subscriber.messages:
                assert isinstance(message.payload, bytes)
                received.append((str(message.topic), message.payload))
                if len(received) == len(expected):
                    return

        await asyncio.wait_for(collect(), timeout=60)
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert received == [(prefix + m.topic, m.payload) for m in expected]
    progress = stderr.decode()
    assert "%|" in progress  # the tqdm bar
    assert "msg/s" in progress
    assert f"{len(expected)} messages" in progress
    first = msgspec.json.decode(received[0][1])
    assert first["event"] in ("admit", "transfer")
