"""`score` alerts: one per patient episode, raised, upgraded, noted and stood down by score.

A result alerts when its level needs more than the bedside nurse (`alert_responses`) and is
higher than the level last alerted, or has a new single-parameter trigger (a red parameter).
A nurse's set counts at once; a device snapshot only once the higher level has held for
`device_persistence` seconds, so a motion artefact pages nobody.

What it does to the patient's one open score alert (the episode):
- none open: a new alert, `score-<obs_msg_id>`;
- a higher level: the alert is upgraded (`Upgrade`: raised again, unacknowledged, the higher
  severity's ladder from its first rung, or the role already reached if more senior); never
  back down;
- the same (or a lower) level with a new red parameter: a `Note` recording the new score and
  triggers, in the alert's state; except that an acknowledged alert whose quiet period
  (`quiet_after_ack` seconds after the acknowledgement) is over is raised again at its
  severity, since the person who acknowledged it has not been told of the new trigger.
On the way down (hysteresis) the level alerted falls only when complete scores have stayed
below it for `hysteresis` seconds: then an acknowledged alert is stood down (`Resolve`,
recovered) and an unacknowledged one says so but stays open. Once the alert is closed, a
later rise opens a new episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scoring import ScoreResult
from surveillance.online._decisions import Decision, Facts, Note, Raise, Resolve, Upgrade
from surveillance.online._desk import OpenAlert
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings

KIND = "score"
SEVERITIES: tuple[str, ...] = ()
"""Besides the charts' responses, nothing (the vocabulary's tests read it)."""


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """The rule, with the settings it reads and each chart's level ranks (chart → level →
    rank, least severe first)."""

    settings: OnlineSettings
    ranks: Mapping[str, Mapping[str, int]]

    def on_score(
        self,
        patient: Patient,
        result: ScoreResult,
        open_alerts: Sequence[OpenAlert],
        *,
        device: bool,
        now: datetime,
        corrected: bool = False,
    ) -> list[Decision]:
        """A new (not late) score of the patient; `now` is when it arrived. A device's
        `corrected` reading counts at once, as a nurse's set does (README: no persistence)."""
        rank = self.ranks[result.chart][result.level]
        red = frozenset(result.single_parameter_triggers)
        alerting = result.response in self.settings.alert_responses
        higher = alerting and (rank > patient.alerted_rank or bool(red - patient.alerted_red))
        episodes = [a for a in open_alerts if a.kind == KIND]
        if not higher:
            patient.pending = None
            return self._recovering(patient, result, rank, red, episodes, alerting=alerting)
        patient.below_since = None
        if device and not corrected:
            if patient.pending is None:
                patient.pending = (rank, red, result.time)
                if self.settings.device_persistence > 0:
                    return []
            else:
                low, common, since = patient.pending
                patient.pending = (min(low, rank), common & red, since)
                held = (result.time - since).total_seconds()
                if held < self.settings.device_persistence:
                    return []
            rank, red, _ = patient.pending
            patient.pending = None
            if not (rank > patient.alerted_rank or red - patient.alerted_red):
                return []
        new_red = red - patient.alerted_red
        patient.alerted_rank = max(rank, patient.alerted_rank)
        patient.alerted_red = patient.alerted_red | red
        facts = _facts(result, red, device=device, corrected=corrected)
        if not episodes:
            alert_id = f"score-{result.obs_msg_id}"
            return [Raise(alert_id, KIND, result.response, facts, rank=rank, chart=result.chart)]
        episode = episodes[-1]
        said = f"{result.system} {result.total} ({result.risk})"
        held_rank = episode.rank if episode.rank is not None else -1
        if rank > held_rank and result.response != episode.severity:
            note = f"{said}: up from {episode.severity} to {result.response}"
            return [
                Upgrade(
                    episode.alert_id,
                    result.response,
                    facts,
                    note,
                    rank=rank,
                    chart=result.chart,
                )
            ]
        change = (
            f"new red parameter {', '.join(sorted(new_red))}"
            if new_red
            else f"{result.response} again"
        )
        if episode.life.state != "acknowledged":
            note = f"{said}: {change}; the alert stays {episode.severity}"
            return [Note(episode.alert_id, note, facts)]
        if patient.quiet_until is not None and now < patient.quiet_until:
            tz = self.settings.tz
            note = (
                f"{said} at {result.time.astimezone(tz):%H:%M}: {change}; no new alert, quiet "
                f"after acknowledgement until {patient.quiet_until.astimezone(tz):%H:%M}"
            )
            return [Note(episode.alert_id, note, facts)]
        note = f"{said}: {change} after the acknowledgement; raised again"
        return [
            Upgrade(
                episode.alert_id,
                episode.severity,
                facts,
                note,
                rank=episode.rank,
                chart=result.chart,
            )
        ]

    def _recovering(
        self,
        patient: Patient,
        result: ScoreResult,
        rank: int,
        red: frozenset[str],
        episodes: Sequence[OpenAlert],
        *,
        alerting: bool,
    ) -> list[Decision]:
        """Hysteresis on the way down: the level alerted falls only once complete scores have
        stayed below it for `hysteresis` seconds; then an acknowledged episode is stood down
        (the cause is gone), and an unacknowledged one says so but stays open."""
        if not (result.complete and rank < patient.alerted_rank):
            if rank >= patient.alerted_rank:
                patient.below_since = None
            return []
        if patient.below_since is None:
            patient.below_since = result.time
        if (result.time - patient.below_since).total_seconds() < self.settings.hysteresis:
            return []
        since = patient.below_since.astimezone(self.settings.tz)
        patient.alerted_rank = rank if alerting else -1
        patient.alerted_red = red
        patient.below_since = None
        why = (
            f"{result.system} {result.total} ({result.risk}), below the level alerted since "
            f"{since:%H:%M}"
        )
        decisions: list[Decision] = []
        for held in episodes:
            if held.life.state == "acknowledged":
                decisions.append(Resolve(held.alert_id, f"recovered: {why}"))
            else:
                decisions.append(Note(held.alert_id, f"{why}; still not acknowledged"))
        return decisions

    def acknowledged(self, patient: Patient, alert: OpenAlert, now: datetime) -> None:
        """Someone acknowledged the patient's score alert: the quiet period starts."""
        if alert.kind != KIND or self.settings.quiet_after_ack <= 0:
            return
        patient.quiet_until = now + timedelta(seconds=self.settings.quiet_after_ack)
        patient.quiet_rank = alert.rank if alert.rank is not None else patient.alerted_rank


def _facts(
    result: ScoreResult, red: frozenset[str], *, device: bool, corrected: bool = False
) -> Facts:
    complete = "" if result.complete else f"; incomplete, missing {', '.join(result.missing)}"
    fixed = ", corrected" if corrected else ""
    source = "" if not device else f" (continuous monitoring{fixed})"
    triggers = f"; {', '.join(sorted(red))} at 3" if red else ""
    return Facts(
        message=(
            f"{result.system} {result.total} ({result.risk}): {result.response} response"
            f"{source}{triggers}{complete}"
        ),
        obs_msg_id=result.obs_msg_id,
        system=result.system,
        total=result.total,
        risk=result.risk,
        scored_at=result.time,
        triggers=tuple(sorted(red)),
    )
