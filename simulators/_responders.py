"""Simulated responders for the demo: people who answer (most) alerts, over MQTT.

The demo's wards need someone to close the loop, or every alert would climb its ladder to the
top. These responders listen on `wards/+/alerts` like any pager gateway and act on
`wards/{ward}/alerts/{alert_id}/ack|resolve` (README, "Alert actions"): most alerts are
acknowledged within minutes by whoever the rung notifies, then resolved with a reason; some
are left unanswered, so the escalation ladder is seen working. Demo only: never in `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import aiomqtt
import msgspec

from ingest import AlertCommand, alert_action_topic, alerts_topic

log = logging.getLogger(__name__)

NAMES = {
    "bedside-nurse": "Staff Nurse Lee",
    "nurse-in-charge": "Sister Adeyemi",
    "medical-team": "Dr Patel (FY2)",
    "consultant": "Dr Okafor (consultant)",
    "rapid-review": "Dr Byrne (ST4)",
    "outreach": "Outreach RN Silva",
    "critical-care": "Dr Novak (ICU)",
    "2222-paediatric-emergency": "Paediatric resus team",
}
REASONS = (
    "reviewed at the bedside; plan documented",
    "reviewed by the medical team; treatment started",
    "observations repeated; back within the expected range",
    "device checked and refitted",
    "patient asleep; obs deferred by the nurse-in-charge",
)


@dataclass(frozen=True, slots=True)
class Response:
    """What a simulated person will do about one alert: acknowledge after `ack_after`
    seconds (None: nobody answers), then resolve `resolve_after` seconds later."""

    by: str
    ack_after: float | None
    resolve_after: float
    reason: str


def respond(notify: str | None, rng: random.Random, *, unanswered: float = 0.15) -> Response:
    """A response to an alert that has just notified `notify` (pure: the randomness is given)."""
    by = NAMES.get(notify or "", "Sister Adeyemi")
    ack = None if rng.random() < unanswered else rng.uniform(30, 600)
    return Response(by, ack, rng.uniform(300, 1800), rng.choice(REASONS))


class _Event(msgspec.Struct):
    alert_id: str
    ward: str
    state: str
    severity: str | None = None
    seq: int = 1
    notify: str | None = None
    upgraded_at: str | None = None  # an upgrade (or re-raise) pages someone anew


async def answer_alerts(
    host: str, port: int, *, prefix: str = "", speed: float = 1.0, seed: int = 0
) -> None:
    """Answer alerts until cancelled (times divided by `speed`)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
    decode = msgspec.json.Decoder(_Event)
    handled: set[tuple[str, str | None]] = set()
    tasks: set[asyncio.Task[None]] = set()
    async with aiomqtt.Client(
        host, port, identifier=f"demo-responders-{uuid.uuid4().hex[:8]}"
    ) as client:
        await client.subscribe(alerts_topic(prefix, "+"), qos=1)
        try:
            async for message in client.messages:
                try:
                    event = decode.decode(bytes(message.payload))
                except msgspec.DecodeError:
                    continue
                page = (event.alert_id, event.upgraded_at)
                if event.state == "resolved" or page in handled:
                    continue
                handled.add(page)
                response = respond(event.notify, rng)
                task = asyncio.create_task(_act(client, prefix, event, response, speed))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()


async def _act(
    client: aiomqtt.Client, prefix: str, event: _Event, response: Response, speed: float
) -> None:
    if response.ack_after is None:
        return  # nobody answers: the ladder climbs
    with contextlib.suppress(aiomqtt.MqttError):
        await asyncio.sleep(response.ack_after / speed)
        await client.publish(
            alert_action_topic(prefix, event.ward, event.alert_id, "ack"),
            _command(response.by, severity=event.severity),
            qos=1,
        )
        await asyncio.sleep(response.resolve_after / speed)
        await client.publish(
            alert_action_topic(prefix, event.ward, event.alert_id, "resolve"),
            _command(response.by, response.reason, severity=event.severity),
            qos=1,
        )


def _command(by: str, reason: str | None = None, *, severity: str | None = None) -> bytes:
    """The command a person sends, naming the severity they were paged with."""
    command = AlertCommand(
        msg_id=f"demo-{uuid.uuid4().hex}",
        time=datetime.now(UTC),
        by=by,
        reason=reason,
        via="demo-responders",
        severity=severity,
    )
    return msgspec.json.encode(command)
