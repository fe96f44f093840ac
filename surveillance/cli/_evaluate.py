"""`surveillance evaluate` (CONTRACT §11): recordings in, how well the chart scores predicted
their outcomes out, as a table or one JSON object. The replay and the figures are
`surveillance.evaluation`'s."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from ingest import EVENT_KINDS
from scoring import ChartError, load_charts
from simulators import Message, RecordingError, count_messages, read_recording
from surveillance.evaluation import DEFAULT_OUTCOME, SYSTEMS, evaluate, replay
from surveillance.risk import ModelError, RiverRisk, load_model
from surveillance.store import AdtRecord, Batch, StoreError, open_store

PUBLISHED = {
    "auroc": "0.75-0.90 (Smith 2013, Edelson 2024)",
    "events_per_100_patient_days": "0.2-2 (Pankhurst 2022)",
    "alerts_per_100_patient_days": "37.6 (Pankhurst 2022)",
    "sensitivity": "0.46 (Pankhurst 2022)",
    "nne": "52 alerts per event (Pankhurst 2022)",
}


def add_evaluate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `evaluate` subcommand."""
    p = commands.add_parser(
        "evaluate",
        help="judge the chart scores against the outcomes in recordings",
        description=(
            "Replay recordings (surveillance simulate --record) offline, in event time, through "
            "the scorer the service runs, and report how well NEWS2 (adults), PEWS (children) "
            "and the maternity chart predicted the composite outcome (CONTRACT §9 events, or "
            "the recording's simulation/truth when it has none) within the horizon: AUROC, "
            "AUPRC, and at NEWS2 >= 5 (PEWS and the maternity chart: their call for a response "
            "beyond the bedside nurse) alerts per 100 patient-days (an alert is an episode: a "
            "run of consecutive observations at or above the threshold), sensitivity, PPV, "
            "number needed to evaluate and median lead time; then the same by sex, ethnicity "
            "group, age band and IMD quintile, counts 1-7 shown as '*'. Observations at or "
            "after the outcome's start, and those under a ceiling of care (an escalation plan "
            "with a ceiling), are left out. Nurses' sets only unless "
            "--include-devices. The learned risk (--model, default the one shipped) runs beside "
            "the scores on the same observations, as the service would run it, and keeps "
            "learning with delayed labels during the replay unless --no-learn; it is judged on "
            "NEWS2's observations (adults): AUROC, AUPRC, Brier score, calibration slope and "
            "intercept, and the same alert figures at the threshold giving NEWS2 >= 5's alert "
            "episodes per 100 patient-days. Exit status 2 on a bad option, an unreadable "
            "recording or a model file that cannot load."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recordings (.jsonl[.gz])")
    p.add_argument(
        "--horizon",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="an observation is positive when the outcome starts within this many hours after it (default 24)",
    )
    p.add_argument(
        "--outcome",
        default=",".join(DEFAULT_OUTCOME),
        metavar="LIST",
        help="comma list of CONTRACT §9 events making up the outcome (default %(default)s)",
    )
    p.add_argument(
        "--include-devices",
        action="store_true",
        help="also judge the scored snapshots of monitors and wearables (default: nurses' sets)",
    )
    p.add_argument(
        "--model",
        type=Path,
        metavar="PATH",
        help="the learned risk model file to judge (default: the one shipped with the project)",
    )
    p.add_argument(
        "--no-learn",
        action="store_true",
        help="freeze the model (default: it keeps learning with delayed labels, as in production)",
    )
    p.add_argument("--no-model", action="store_true", help="judge the chart scores only")
    p.add_argument(
        "--store",
        metavar="URL",
        help=(
            "also write what the scorer made of the recording (ADT, observations, labs, "
            "scores, alert events, clinical events, dead letters; the scorer's clock does not "
            "run, so no overdue or feed alert and no escalation) to this store, "
            "sqlite:///PATH or postgresql://..., "
            "for surveillance dashboard; one recording at a time (simulated patient ids repeat "
            "across seeds); records already there are kept"
        ),
    )
    p.add_argument(
        "--answer-alerts",
        action="store_true",
        help=(
            "with --store: simulated staff acknowledge (85 %%, after 0.5-10 min) and resolve "
            "(5-30 min later) the scorer's alerts in event time, as the demo's responders do, "
            "so the stored alerts are episodes a ward would see (the figures do not change)"
        ),
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    outcome = [k.strip() for k in args.outcome.split(",") if k.strip()]
    unknown = sorted(set(outcome) - set(EVENT_KINDS))
    if not outcome or unknown:
        print(
            f"surveillance evaluate: --outcome: unknown events {unknown} (known: {sorted(EVENT_KINDS)})",
            file=sys.stderr,
        )
        return 2
    if not args.horizon > 0:
        print("surveillance evaluate: --horizon must be > 0 hours", file=sys.stderr)
        return 2
    if args.store and len(args.files) > 1:
        print(
            "surveillance evaluate: --store takes one recording (simulated patient ids repeat "
            "across seeds, so two would be taken for the same patients)",
            file=sys.stderr,
        )
        return 2
    if args.answer_alerts and not args.store:
        print("surveillance evaluate: --answer-alerts needs --store", file=sys.stderr)
        return 2
    sink: _StoreSink | None = None
    try:
        model: RiverRisk | None = None
        if not args.no_model:
            model = load_model(args.model, learn=not args.no_learn)
            if model.horizon_hours != args.horizon:
                print(
                    f"surveillance evaluate: the model predicts within {model.horizon_hours:g} h, "
                    f"not --horizon {args.horizon:g} (give --no-model, or a model for it)",
                    file=sys.stderr,
                )
                return 2
        charts = load_charts()
        totals = {path: count_messages(path) for path in args.files}

        def progress(messages: Iterable[Message], path: Path) -> Iterable[Message]:
            return tqdm(
                messages,
                total=totals[path],
                desc=path.name,
                unit=" msg",
                disable=True if args.no_progress else None,
                file=sys.stderr,
            )

        if args.store:
            try:
                sink = _StoreSink(args.store)
            except ValueError as exc:  # an unsupported URL (the message never shows it)
                print(f"surveillance evaluate: --store: {exc}", file=sys.stderr)
                return 2
            if foreign := sink.foreign(_adt_ids(args.files[0])):
                sink.abandon()
                print(
                    "surveillance evaluate: --store holds another recording's records (ADT "
                    f"{foreign!r} is not in {args.files[0]}); simulated patient ids repeat "
                    "across recordings, so the two would be read as the same patients: use "
                    "an empty store",
                    file=sys.stderr,
                )
                return 2
        replayed = replay(
            args.files,
            charts,
            outcome,
            include_devices=args.include_devices,
            progress=progress,
            model=model,
            sink=sink,
            answer_alerts=args.answer_alerts,
        )
        if sink is not None:
            sink.close()
    except (ChartError, ModelError, OSError, RecordingError, StoreError) as exc:
        if sink is not None:
            sink.abandon()
        print(f"surveillance evaluate: {exc}", file=sys.stderr)
        return 2
    result = evaluate(replayed, args.horizon, outcome)
    if args.json:
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    else:
        sys.stdout.write(format_evaluation(result))
    return 0


class _StoreSink:
    """Writes the replay's records to a store, in transactions of about `FLUSH_AT` records
    (the replay is synchronous: the store's coroutines run on a loop of the sink's own)."""

    FLUSH_AT = 20_000

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.pending = Batch()
        try:
            self.store = self.loop.run_until_complete(
                self.stack.enter_async_context(open_store(url))
            )
        except BaseException:
            self.loop.close()
            raise

    def foreign(self, adt_ids: set[str]) -> str | None:
        """An ADT record of the store that is not among `adt_ids` (the recording's), if any."""
        stored = self.loop.run_until_complete(self.store.fetch(AdtRecord))
        return next((r.msg_id for r in stored if r.msg_id not in adt_ids), None)

    def __call__(self, batch: Batch) -> None:
        self.pending.extend(batch)
        if len(self.pending) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if len(self.pending):
            self.loop.run_until_complete(self.store.write(self.pending))
            self.pending = Batch()

    def close(self) -> None:
        """Write what is left and close the store."""
        try:
            self.flush()
        finally:
            self.loop.run_until_complete(self.stack.aclose())
            self.loop.close()

    def abandon(self) -> None:
        """Close the store without writing what is left (the replay failed)."""
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.stack.aclose())
            self.loop.close()


def _adt_ids(path: Path) -> set[str]:
    """The msg_ids of a recording's ADT messages (ADT's topics end in `/adt`)."""
    ids: set[str] = set()
    for message in read_recording(path):
        if message.topic.endswith("/adt"):
            with contextlib.suppress(msgspec.DecodeError):  # the scorer dead-letters it
                payload = msgspec.json.decode(message.payload)
                if isinstance(payload, dict) and isinstance(payload.get("msg_id"), str):
                    ids.add(payload["msg_id"])
    return ids


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_evaluation(result: dict[str, Any]) -> str:
    """The readable table: totals, then each chart's figures beside the published ones, then
    NEWS2 by group."""
    lines = [
        f"Outcome: {', '.join(result['outcome'])} within {result['horizon_hours']:g} h "
        f"(from {', '.join(sorted(set(result['outcome_source'].values())))}); "
        f"observations: {result['observations_used']}",
        f"Observations {result['observations']}, patients {result['patients']}, "
        f"patient-days {result['patient_days']:.1f}, events {result['events']} "
        f"({_cell(result['events_per_100_patient_days'], 2)} per 100 patient-days; "
        f"published {PUBLISHED['events_per_100_patient_days']})",
        "",
    ]
    present = [(key, name) for key, name in SYSTEMS if result.get(key)]
    if result.get("model"):
        at_news2 = 1 if present and present[0][0] == "news2" else 0
        present.insert(at_news2, ("model", "learned risk"))
    blocks = [result[key] for key, _ in present]
    ats = [b.get("at_threshold") or b.get("at_news2_alert_rate") or {} for b in blocks]

    def row(
        title: str, key: str, published: str = "", *, at: bool = False
    ) -> tuple[str, list[Any], str]:
        return (
            title,
            [(a if at else b).get(key) for a, b in zip(ats, blocks, strict=True)],
            published,
        )

    rows: list[tuple[str, list[Any], str]] = [
        row("observations", "observations"),
        row("patients", "patients"),
        row("patient-days", "patient_days"),
        row("events", "events"),
        row(
            "events /100 patient-days",
            "events_per_100_patient_days",
            PUBLISHED["events_per_100_patient_days"],
        ),
        row("AUROC", "auroc", PUBLISHED["auroc"]),
        row("AUPRC", "auprc"),
    ]
    if result.get("model"):
        rows += [
            row("Brier score", "brier"),
            row("calibration slope", "calibration_slope", "1 (0.8-1.25 asked)"),
            row("calibration intercept", "calibration_intercept", "0"),
        ]
    rows += [
        row("threshold", "threshold", "model: alerts/100 pd as NEWS2 >= 5's", at=True),
        row("alerts (episodes)", "alerts", at=True),
        row(
            "alerts /100 patient-days",
            "alerts_per_100_patient_days",
            PUBLISHED["alerts_per_100_patient_days"],
            at=True,
        ),
        row(
            "observations >= threshold /100 pd",
            "alert_observations_per_100_patient_days",
            at=True,
        ),
        row("sensitivity", "sensitivity", PUBLISHED["sensitivity"], at=True),
        row("PPV", "ppv", at=True),
        row("NNE (1/PPV)", "nne", PUBLISHED["nne"], at=True),
        row("median lead time (h)", "median_lead_time_hours", at=True),
    ]
    width = max(len(r[0]) for r in rows)
    cols = [max(12, *(len(_cell(r[1][i])) for r in rows)) for i in range(len(present))]
    header = "".join(f"{name:>{w + 2}}" for (_, name), w in zip(present, cols, strict=True))
    lines.append(f"{'':<{width}}{header}   published (NEWS2, real wards)")
    for title, values, published in rows:
        cells = "".join(f"{_cell(v):>{w + 2}}" for v, w in zip(values, cols, strict=True))
        lines.append(f"{title:<{width}}{cells}   {published}".rstrip())
    lines += ["", "NEWS2 (and the learned risk) by group (counts 1-7 shown as *):"]
    head = (
        "group", "patients", "events", "obs", "AUROC", "AUPRC", "alerts/100pd", "sens", "PPV",
        "model AUROC", "model sens",
    )  # fmt: skip
    lines.append(f"{head[0]:<28}" + "".join(f"{h:>13}" for h in head[1:]))
    for dimension, values in result["by_group"].items():
        for value, block in values.items():
            news2 = block.get("news2")
            if not news2:
                continue
            a = news2["at_threshold"]
            model = block.get("model") or {}
            figures = (
                news2["patients"],
                news2["events"],
                news2["observations"],
                news2["auroc"],
                news2["auprc"],
                a["alerts_per_100_patient_days"],
                a["sensitivity"],
                a["ppv"],
                model.get("auroc"),
                (model.get("at_news2_alert_rate") or {}).get("sensitivity"),
            )
            lines.append(
                f"{dimension + ' ' + value:<28}" + "".join(f"{_cell(c):>13}" for c in figures)
            )
    model = result.get("model")
    if model:
        about = model.get("about", {})
        lines += [
            "",
            f"Learned risk: {about.get('model')} {about.get('model_version')} (river "
            f"{about.get('river')}), "
            + ("learning during the replay" if about.get("learning") else "frozen")
            + f"; {model['observations_without_estimate']} NEWS2 observations had no estimate. "
            "A model judged on simulated wards is not clinical evidence.",
        ]
    else:
        lines += ["", "Learned risk: not run (--no-model)."]
    lines.append("")
    return "\n".join(lines)
