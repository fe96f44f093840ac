"""`learned-risk` alerts: the learned deterioration risk at or above the trust's threshold.

Only when a trust turns model alerts on (`[model] alerts`, `OnlineSettings.model_alerts`);
by default the model runs in shadow and this rule is never asked. Its alerts are of their own
kind and severity (`learned-risk`), climb their own ladder (`[alerts.ladders.learned-risk]`)
and say they are a learned estimate, with its reasons. They never touch a score alert: the
chart's score, response and ladder are the chart's.

One alert per episode: an estimate at or above `model_threshold` opens the episode and raises
one alert; while the episode lasts no other is raised (not even after a person resolved it).
The episode ends once the estimates have stayed below the threshold for `hysteresis` seconds
(by the scores' own times): the open alert is then resolved by the system, with the reason;
a later rise opens a new episode. A discharge resolves it, as every alert.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring import ScoreResult
from surveillance.online._decisions import Decision, Facts, Raise, Resolve
from surveillance.online._desk import OpenAlert
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings
from surveillance.risk import LearnedRisk

KIND = "learned-risk"
SEVERITY = "learned-risk"
SEVERITIES = (SEVERITY,)
"""What this rule can raise (the vocabulary's tests read it)."""


def on_estimate(
    settings: OnlineSettings,
    patient: Patient,
    learned: LearnedRisk,
    result: ScoreResult,
    open_alerts: Sequence[OpenAlert],
) -> list[Decision]:
    """A new (not late) score of the patient came with this learned estimate."""
    held = [a for a in open_alerts if a.kind == KIND]
    if learned.probability >= settings.model_threshold:
        patient.learned_below_since = None
        if patient.learned_alerted:
            return []
        patient.learned_alerted = True
        if held:  # open from before (a store written before the episode was kept)
            return []
        facts = _facts(settings, learned, result)
        return [Raise(f"{KIND}-{result.obs_msg_id}", KIND, SEVERITY, facts)]
    if not patient.learned_alerted:
        return []
    if patient.learned_below_since is None:
        patient.learned_below_since = result.time
    below = (result.time - patient.learned_below_since).total_seconds()
    if below < settings.hysteresis:
        return []
    since = patient.learned_below_since.astimezone(settings.tz)
    patient.learned_alerted = False
    patient.learned_below_since = None
    why = (
        f"recovered: the learned estimate is {_percent(learned.probability)}, below the "
        f"threshold of {_percent(settings.model_threshold)} since {since:%H:%M}"
    )
    return [Resolve(alert.alert_id, why) for alert in held]


def _facts(settings: OnlineSettings, learned: LearnedRisk, result: ScoreResult) -> Facts:
    reasons = "; ".join(learned.reasons) if learned.reasons else "no reasons given"
    return Facts(
        message=(
            f"Learned estimate, not a chart score: {_percent(learned.probability)} risk of "
            f"deterioration within {learned.horizon_hours:g} h (threshold "
            f"{_percent(settings.model_threshold)}; {learned.model}). Why: {reasons}. "
            f"The chart's score ({result.system} {result.total}, {result.risk}) and its "
            "response are unchanged: review the patient."
        ),
        obs_msg_id=result.obs_msg_id,
        scored_at=result.time,
    )


def _percent(probability: float) -> str:
    """A probability as people read it: "12 %", "0.4 %" under 1 %."""
    value = probability * 100
    return f"{value:.1f} %" if 0 < value < 1 else f"{value:.0f} %"
