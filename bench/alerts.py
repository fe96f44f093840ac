"""Alert burden: a simulated hospital day through the online scorer, in process (issue 13).

Simulates --wards × --beds beds for --hours of mixed monitoring (the project's seeded
simulators, the same stream as `bench/simulate`), parses every message as the service would,
and hands them to one `OnlineScorer` in batches of one simulated second, with a `tick` every
--tick seconds. Simulated responders (`surveillance._responders.respond`, as in the demo)
acknowledge most alerts within minutes of being told and resolve them a while later; some
are never answered (--no-responders: nobody answers anything).

Prints alerts raised per 100 patient-days (score alerts, and every kind), alert events per
100 patient-days, the most score alerts a patient had open at once, and, so that the figure
can be set beside NEWS2's published 37.6 alerts per 100 patient-days at NEWS2 ≥ 5 (Pankhurst
et al. 2022), the share of the simulation's NEWS2 sets scoring 5 or more and those sets per
100 patient-days. Patient-days: occupied beds integrated over the simulated time.

Usage: bench/alerts [--wards 40] [--beds 25] [--hours 24] [--seed 1] [--no-responders]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import groupby

import msgspec

from ingest import AlertCommand, parse
from scoring import load_charts
from simulators import Message, SimConfig, respond, simulate
from surveillance.online import Arrival, OnlineScorer, Output

PUBLISHED_NEWS2_5 = 37.6
"""Alerts per 100 patient-days at NEWS2 ≥ 5 (Pankhurst et al. 2022, as the issue cites it)."""


class _Event(msgspec.Struct):
    alert_id: str
    ward: str
    kind: str
    state: str
    seq: int = 1
    notify: str | None = None
    renotified: int = 0


_decode = msgspec.json.Decoder(_Event)


def _command(by: str, at: datetime, n: int, reason: str | None = None) -> bytes:
    command = AlertCommand(
        msg_id=f"bench-{n}", time=at, by=by, reason=reason, via="bench-responders"
    )
    return msgspec.json.encode(command)


def _seconds(messages: Iterator[Message]) -> Iterator[tuple[int, list[Message]]]:
    for second, group in groupby(messages, key=lambda m: m.time):
        yield second, [m for m in group if m.topic.startswith("wards/")]


def run(config: SimConfig, *, responders: bool, tick: float) -> dict[str, float]:
    charts = load_charts()
    scorer = OnlineScorer(charts)
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not cryptography
    actions: list[tuple[float, int, str, str]] = []  # (due, n, topic, payload)
    raised: Counter[str] = Counter()
    events = 0
    open_score: dict[str, set[str]] = {}  # patient → open score alerts (from the events)
    most_open = 0
    sets = sets_5 = 0
    occupied = 0.0
    n = 0
    last_tick: float | None = None
    last: float | None = None

    def absorb(out: Output, now: float) -> None:
        nonlocal events, most_open, sets, sets_5, n
        sources = {r.msg_id: r.source for r in out.batch.observations}
        for scored in out.batch.scores:
            if scored.system == "NEWS2" and sources.get(scored.obs_msg_id) == "manual":
                sets += 1
                sets_5 += scored.total >= 5
        for record in out.batch.alerts:
            events += 1
            event = _decode.decode(record.event)
            if event.seq == 1:
                raised[event.kind] += 1
            if event.kind == "score":
                held = open_score.setdefault(record.patient_id, set())
                if event.state == "resolved":
                    held.discard(event.alert_id)
                else:
                    held.add(event.alert_id)
                most_open = max(most_open, len(held))
            told = event.state == "raised" and event.notify is not None
            if not (responders and told and event.renotified == 0):
                continue
            answer = respond(event.notify, rng)
            if answer.ack_after is None:
                continue
            topic = f"wards/{event.ward}/alerts/{event.alert_id}"
            due = now + answer.ack_after
            n += 1
            heapq.heappush(actions, (due, n, f"{topic}/ack", answer.by))
            n += 1
            reason = answer.reason
            heapq.heappush(
                actions,
                (due + answer.resolve_after, n, f"{topic}/resolve", answer.by + "|" + reason),
            )

    def arrivals_until(now: float) -> list[Arrival]:
        due: list[Arrival] = []
        while actions and actions[0][0] <= now:
            at, k, topic, who = heapq.heappop(actions)
            by, _, reason = who.partition("|")
            when = datetime.fromtimestamp(at, UTC)
            payload = _command(by, when, k, reason or None)
            due.append(Arrival(parse(topic, payload), topic, payload, when))
        return due

    for second, messages in _seconds(simulate(config, charts)):
        now = float(second)
        if last is not None:
            occupied += scorer.patients * (now - last)
        last = now
        received = datetime.fromtimestamp(second, UTC)
        arrivals = arrivals_until(now) + [
            Arrival(parse(m.topic, m.payload), m.topic, m.payload, received) for m in messages
        ]
        if arrivals:
            absorb(scorer.handle(arrivals), now)
        if last_tick is None or now - last_tick >= tick:
            last_tick = now
            absorb(scorer.tick(received), now)
    patient_days = occupied / 86400
    per100 = 100 / patient_days
    return {
        "patient_days": patient_days,
        "score_alerts": raised["score"] * per100,
        "all_alerts": sum(raised.values()) * per100,
        "events": events * per100,
        "most_open": most_open,
        "sets": sets,
        "sets_5": sets_5,
        "sets_5_per100": sets_5 * per100,
        **{f"kind:{kind}": count * per100 for kind, count in sorted(raised.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wards", type=int, default=40)
    parser.add_argument("--beds", type=int, default=25)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=10.0, help="seconds between ticks")
    parser.add_argument("--no-responders", action="store_true")
    args = parser.parse_args()
    config = SimConfig(
        wards=args.wards, beds=args.beds, hours=args.hours, mode="mixed", seed=args.seed
    )
    start = time.perf_counter()
    r = run(config, responders=not args.no_responders, tick=args.tick)
    seconds = time.perf_counter() - start
    who = "nobody answers" if args.no_responders else "simulated responders"
    print(
        f"alerts: {args.wards * args.beds} beds × {args.hours:g} h, mixed monitoring, seed "
        f"{args.seed}, {who}; {r['patient_days']:,.1f} patient-days in {seconds:.0f} s"
    )
    print(f"  score alerts raised      {r['score_alerts']:7.1f} per 100 patient-days")
    print(f"  alerts raised, all kinds {r['all_alerts']:7.1f} per 100 patient-days")
    for key, value in r.items():
        if key.startswith("kind:"):
            print(f"    {key[5:]:22} {value:7.1f}")
    print(f"  alert events (all)       {r['events']:7.1f} per 100 patient-days")
    print(f"  most score alerts open at once for one patient: {r['most_open']:.0f}")
    share = r["sets_5"] / r["sets"] if r["sets"] else 0.0
    print(
        f"  nurses' NEWS2 sets ≥ 5: {r['sets_5']:,.0f} of {r['sets']:,.0f} ({share:.1%}), "
        f"{r['sets_5_per100']:.1f} per 100 patient-days"
    )
    print(
        f"  published: {PUBLISHED_NEWS2_5} alerts per 100 patient-days at NEWS2 ≥ 5 (Pankhurst 2022)"
    )


if __name__ == "__main__":
    main()
