"""Ingest throughput on one core: messages per second, bytes to a validated observation set
(issue 17 item 4: HL7 v2 ≥ 10,000/s, FHIR ≥ 20,000/s).

For each message kind, the whole ingest step (`ingest.parse(topic, payload)`: topic, size,
format, every check, the `Observation`) and the format's parse alone; for HL7 v2 both the
reader of our own (`ingest._er7`) and python-hl7 (`hl7.parse`, the path used before).

Two clocks, best of N runs each: CPU time of this thread (`time.thread_time`, what one core
spends, robust to a shared machine) and wall time (`time.perf_counter`, inflated when other
processes take the core). The load average is printed with them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import msgspec

import ingest._fhir as fhir_path
import ingest._hl7 as hl7_path
from ingest import Observation, parse
from scoring import LONDON
from simulators import fhir_bundle, hl7v2_oru
from tests.factories import CONTRACT_OBSERVATION, make_obs

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "ingest" / "samples"
REPEATS = 7


def rates(run: Callable[[], object], n: int, repeats: int = REPEATS) -> tuple[float, float]:
    """Messages per second of `run` (n messages a call): by CPU time and by wall time."""
    cpu = wall = float("inf")
    for _ in range(repeats):
        c0, w0 = time.thread_time(), time.perf_counter()
        run()
        cpu = min(cpu, time.thread_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return n / max(cpu, 1e-9), n / max(wall, 1e-9)  # a clock coarser than the run


def loop(call: Callable[[], object], n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            call()

    return run


def line(label: str, call: Callable[[], object], n: int, goal: str = "") -> None:
    cpu, wall = rates(loop(call, n), n)
    print(f"  {label:<52} {cpu:>10,.0f} /s CPU {wall:>10,.0f} /s wall {goal}")


def messages() -> dict[str, tuple[str, bytes]]:
    """Topic and payload of each kind measured; each must be read as an `Observation`."""
    obs = make_obs(
        {
            "resp_rate": 18,
            "spo2": 96,
            "systolic_bp": 121,
            "diastolic_bp": 82,
            "heart_rate": 72,
            "temperature": 37.1,
        },
        msg_id="bench-1",
    )
    fhir = "wards/7A/beds/12/fhir"
    found = {
        "native JSON obs (CONTRACT §3)": (
            "wards/7A/beds/12/obs",
            msgspec.json.encode(CONTRACT_OBSERVATION),
        ),
        "FHIR Observation (US Core pulse oximetry)": (
            fhir,
            (SAMPLES / "us-core-pulse-oximetry-satO2-fiO2.json").read_bytes(),
        ),
        "FHIR Bundle, simulated monitor (6 vitals)": (fhir, fhir_bundle(obs, device_id="MON-1")),
        "FHIR Bundle, UK Core NEWS2 (13 kB)": (
            fhir,
            (SAMPLES / "uk-core-news2-bundle.json").read_bytes(),
        ),
        "HL7 ORU^R01, simulated monitor (6 vitals)": (
            "wards/7A/beds/12/hl7v2",
            hl7v2_oru(obs, ward="7A", bed="12", device_id="MON-1"),
        ),
        "HL7 ORU^R01, Mindray sample (8 OBX)": (
            "wards/7A/beds/12/hl7v2",
            (SAMPLES / "mindray-nibp-temp-pulse.hl7").read_bytes(),
        ),
    }
    for name, (topic, payload) in found.items():
        result = parse(topic, payload)
        if not isinstance(result, Observation):
            raise SystemExit(f"{name}: not read: {result}")
    return found


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"ingest throughput, one core, best of {REPEATS} (load average {load} on "
        f"{os.cpu_count()} CPUs), python-hl7 {hl7.__version__}, msgspec {msgspec.__version__}"
    )
    n = 3000
    tz: ZoneInfo = LONDON
    for name, (topic, payload) in messages().items():
        print(f"{name}, {len(payload):,} bytes")
        goal = ""
        if "HL7" in name:
            goal = "(goal 10,000)"
        elif "FHIR" in name:
            goal = "(goal 20,000)"
        line("whole ingest: ingest.parse(topic, payload)", partial(parse, topic, payload), n, goal)
        if "HL7" in name:
            ward, bed = topic.split("/")[1], topic.split("/")[3]
            before = partial(hl7_path._parse_hl7_python_hl7, payload, ward, bed, tz)
            line("whole ingest, python-hl7 path (before)", before, n // 5)
            line("parse only: ER7 reader (ingest._er7)", partial(hl7_path._message, payload), n)
            line(
                "parse only: python-hl7 hl7.parse (before)",
                partial(hl7_path._message, payload, fast=False),
                n // 5,
            )
        elif "FHIR" in name:
            line("parse only: msgspec decode", partial(fhir_path._resources, payload), n)
        else:
            line("parse only: msgspec decode", partial(msgspec.json.decode, payload), n)


if __name__ == "__main__":
    main()
