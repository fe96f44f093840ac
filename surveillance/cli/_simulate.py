"""`surveillance simulate` and `surveillance replay` (CONTRACT §7)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from ingest import BrokerURL, parse_broker_url
from scoring import load_charts
from simulators import (
    CATCHMENTS,
    DEFAULT_START,
    INEQUITIES,
    SCENARIOS,
    Message,
    PublishError,
    RecordingError,
    SimConfig,
    count_messages,
    parse_time,
    publish,
    read_recording,
    simulate,
    ward_plan,
    write_recording,
)


def add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `simulate` subcommand."""
    p = commands.add_parser(
        "simulate",
        help="stream simulated wards to a broker, or record them to a file",
        description=(
            "Simulate wards: patients whose vitals follow a scenario (stable, sepsis, bleeding, "
            "COPD on Scale 2, bronchiolitis, pre-eclampsia, postpartum haemorrhage, recovery), "
            "nurses' rounds at the frequency each score demands, wearable and monitor streams, "
            "admissions and discharges, creatinine results, clinical events (CONTRACT §9: "
            "rapid response calls, arrests, ICU admissions, deaths, sepsis treatment, falls, "
            "pressure ulcers) and ground-truth outcomes. The same "
            "seed and options give byte-identical output. Give --record FILE (JSON lines; gzip "
            "when FILE ends in .gz; written as fast as possible) or --broker URL (published "
            "with QoS 1 at --speed times real time)."
        ),
    )
    p.add_argument("--wards", type=int, default=1, help="wards to simulate (default 1)")
    p.add_argument("--beds", type=int, default=30, help="beds per ward (default 30)")
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    p.add_argument(
        "--mode",
        choices=("manual", "continuous", "mixed"),
        default="mixed",
        help="manual: nurses' rounds only; continuous: every patient also wears a device; "
        "mixed (default): --device-share of patients do",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--start",
        default=DEFAULT_START,
        help=f"simulated start, RFC 3339, or 'now' (default {DEFAULT_START}, so a seed pins the output)",
    )
    p.add_argument(
        "--ward-kinds",
        default="medical,surgical,children,maternity",
        help="comma-separated kinds the wards cycle through (default: "
        "medical,surgical,children,maternity)",
    )
    p.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        help="put every patient in this scenario (default: each ward's case mix)",
    )
    p.add_argument(
        "--device-interval",
        type=int,
        default=60,
        metavar="SECONDS",
        help="seconds between device readings, 1 = 1 Hz (default 60)",
    )
    p.add_argument(
        "--device-share",
        type=float,
        default=0.3,
        help="mixed mode: share of patients with a device (default 0.3)",
    )
    p.add_argument(
        "--fhir-share", type=float, default=0.0, help="share of devices sending FHIR R4 (default 0)"
    )
    p.add_argument(
        "--hl7-share",
        type=float,
        default=0.0,
        help="share of devices sending HL7 v2 ORU^R01 (default 0)",
    )
    p.add_argument(
        "--lateness",
        type=float,
        default=1.0,
        help="scale of nurses' lateness; 0 = every set exactly when due (default 1)",
    )
    p.add_argument(
        "--no-truth",
        action="store_true",
        help="leave out the ground truth (scenarios, outcomes) on simulation/truth",
    )
    p.add_argument(
        "--no-events",
        action="store_true",
        help=(
            "leave out the clinical events (CONTRACT §9: rrt-call, cardiac-arrest, "
            "icu-admission, death, fall, pressure-ulcer, sepsis-treatment, and senior-review, "
            "an extension) on each bed's event topic"
        ),
    )
    p.add_argument(
        "--inequity",
        action="append",
        choices=INEQUITIES,
        default=[],
        help=(
            "build in an inequity, so the equity report's power to find one can be tested "
            "(repeatable; default none): spo2-overread (pulse oximeters over-read SpO2 for "
            "Black and Asian patients, more in hypoxaemia, so their NEWS2 under-scores: "
            "Sjoding 2020); night-escalation (urgent scores at night acted on hours later)"
        ),
    )
    p.add_argument(
        "--catchment",
        choices=CATCHMENTS,
        default="england",
        help=(
            "the patients' stated ethnic mix (default %(default)s: Census 2021 England; "
            "london: Census 2021 London, a diverse catchment whose equity groups are large "
            "enough to judge)"
        ),
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--record", type=Path, metavar="FILE", help="write a recording")
    out.add_argument("--broker", metavar="URL", help="publish to mqtt://host:port")
    _publish_options(p, default_speed=1.0)
    p.set_defaults(run=_simulate)


def add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `replay` subcommand."""
    p = commands.add_parser(
        "replay",
        help="replay a recording to a broker at a chosen speed",
        description=(
            "Republish a recording (from `surveillance simulate --record`) with its original "
            "relative timing, in order, with QoS 1 and the original retain flags, showing "
            "progress with rate and ETA. --speed 60 plays an hour a minute; --speed 0 as fast "
            "as the broker acknowledges."
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the recording (.jsonl or .jsonl.gz)")
    p.add_argument("--broker", required=True, metavar="URL", help="mqtt://host:port")
    _publish_options(p, default_speed=1.0)
    p.set_defaults(run=_replay)


def _publish_options(p: argparse.ArgumentParser, *, default_speed: float) -> None:
    p.add_argument(
        "--speed",
        type=float,
        default=default_speed,
        help=f"times real time; 0 = as fast as the broker takes it (default {default_speed:g})",
    )
    p.add_argument("--prefix", default="", help="topic prefix, prepended verbatim (e.g. 'site1/')")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the broker password from this environment variable (the user name goes "
        "in the URL: mqtts://simulator@host:8883), so it stays off the command line",
    )
    p.add_argument(
        "--ca-file",
        metavar="PEM",
        help="with mqtts://, trust the authorities in this file (a hospital's private CA)",
    )


def _broker(args: argparse.Namespace) -> BrokerURL:
    """The broker URL with the password from --password-env and the CA file from --ca-file."""
    broker = dataclasses.replace(parse_broker_url(args.broker), ca_file=args.ca_file)
    if args.password_env:
        try:
            broker = dataclasses.replace(broker, password=os.environ[args.password_env])
        except KeyError:
            msg = f"--password-env: environment variable {args.password_env} is not set"
            raise ValueError(msg) from None
    if args.ca_file is not None and not Path(args.ca_file).is_file():
        msg = f"--ca-file: no file {args.ca_file!r}"
        raise ValueError(msg)
    return broker


def _config(args: argparse.Namespace) -> SimConfig:
    start = (
        int(datetime.now(UTC).timestamp()) // 60 * 60
        if args.start == "now"
        else parse_time(args.start)
    )
    kinds = tuple(k.strip() for k in args.ward_kinds.split(",") if k.strip())
    return SimConfig(
        wards=args.wards,
        beds=args.beds,
        hours=args.hours,
        mode=args.mode,
        seed=args.seed,
        start=start,
        ward_kinds=kinds,
        device_interval=args.device_interval,
        device_share=args.device_share,
        fhir_share=args.fhir_share,
        hl7_share=args.hl7_share,
        lateness=args.lateness,
        scenario=args.scenario,
        truth=not args.no_truth,
        events=not args.no_events,
        inequity=tuple(dict.fromkeys(args.inequity)),
        catchment=args.catchment,
    )


def _simulate(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        broker = None if args.broker is None else _broker(args)
        _check_speed(args.speed)
    except ValueError as exc:
        print(f"surveillance simulate: {exc}", file=sys.stderr)
        return 2
    messages = simulate(config, load_charts())
    began = time.perf_counter()
    if args.record is not None:
        meta = {
            "seed": config.seed,
            "start": datetime.fromtimestamp(config.start, UTC).isoformat(),
            "hours": config.hours,
            "mode": config.mode,
            "wards": [w.name for w in ward_plan(config)],
            "beds": config.beds,
            "truth": config.truth,
            "events": config.events,  # CONTRACT §9 events on each bed's `event` topic
            "inequity": list(config.inequity),  # built-in inequities (none by default)
            "catchment": config.catchment,
        }
        try:
            count = write_recording(args.record, messages, meta)
        except OSError as exc:
            print(f"surveillance simulate: {exc}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - began
        print(
            f"recorded {count} messages to {args.record} in {seconds:.1f} s "
            f"({count / max(seconds, 1e-9):,.0f} events/s)",
            file=sys.stderr,
        )
        return 0
    if broker is None:  # argparse requires --record or --broker
        return 2
    return _publish(
        "simulate", messages, broker, args, total=None, note=f"{len(ward_plan(config))} ward(s)"
    )


def _replay(args: argparse.Namespace) -> int:
    try:
        broker = _broker(args)
        _check_speed(args.speed)
        total = count_messages(args.file)
    except (ValueError, OSError) as exc:  # RecordingError is a ValueError
        print(f"surveillance replay: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, RecordingError | OSError) else 2
    return _publish(
        "replay", read_recording(args.file), broker, args, total=total, note=str(args.file)
    )


def _publish(
    command: str,
    messages: Iterable[Message],
    broker: BrokerURL,
    args: argparse.Namespace,
    *,
    total: int | None,
    note: str,
) -> int:
    try:
        stats = asyncio.run(
            publish(
                messages,
                broker,
                speed=args.speed,
                prefix=args.prefix,
                total=total,
                progress=not args.no_progress,
            )
        )
    except (PublishError, RecordingError) as exc:
        print(f"surveillance {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"surveillance {command}: interrupted", file=sys.stderr)
        return 130
    print(
        f"{command}: {stats.messages} messages from {note} to {broker} in {stats.seconds:.1f} s "
        f"({stats.rate:,.0f} msg/s, {stats.reconnects} reconnects)",
        file=sys.stderr,
    )
    return 0


def _check_speed(speed: float) -> None:
    if not speed >= 0:
        msg = "--speed must be 0 (as fast as possible) or more"
        raise ValueError(msg)
