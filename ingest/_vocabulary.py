"""The words of the contract, defined once: what alert severities, kinds and states, score risks
and vital signs are called, in which order, and in which colour.

The scorer emits these values (CONTRACT §4, §5); every screen shows them. The wallboard serves
this module's `vocabulary()` (`GET /api/vocabulary`, and `/vocabulary.js` for its pages), so no
page keeps a copy of its own. Tests derive what the scorer can emit from its data (the charts'
responses, the ladders' keys, the AKI stages, the scorer's own `kind=`/`severity=` arguments)
and fail when a value is missing here.

Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import msgspec

Tone: TypeAlias = Literal["white", "yellow", "orange", "pink", "red", "grey", "blue"]
"""A colour class of the wallboard (RCP conventions; PEWS adds pink for high)."""


class Term(msgspec.Struct, kw_only=True, frozen=True):
    """One value of the contract with its words and colour.

    `critical` marks the severities the outreach console counts as "emergency or rapid
    review" and flags with ⚠; `open` marks the alert states that keep an alert on screen.
    """

    id: str
    label: str
    tone: Tone = "grey"
    critical: bool = False
    open: bool = False


TONES: Final[Mapping[Tone, str]] = {
    "white": "#ffffff",
    "yellow": "#ffe14d",
    "orange": "#f7a21b",
    "pink": "#f49ac1",
    "red": "#d7192c",
    "grey": "#d5d9de",
    "blue": "#1f5f99",
}
"""The fill of each tone where a page draws it (the patient view's chart bands and points)."""

SEVERITIES: Final[tuple[Term, ...]] = (
    Term(id="emergency", label="Emergency", tone="red", critical=True),
    Term(id="rapid-review", label="Rapid review", tone="red", critical=True),
    Term(id="urgent", label="Urgent", tone="orange"),
    # AKI stages beside the score responses whose ladders they match (ladders.toml): stage 3
    # reaches a consultant within the hour as an urgent score reaches outreach; stage 2 is
    # reviewed within 6 h; stage 1 tells the medical team. Never below a score response that
    # calls for someone sooner.
    Term(id="aki-3", label="AKI stage 3", tone="orange"),
    Term(id="urgent-ward", label="Urgent (ward)", tone="yellow"),
    Term(id="aki-2", label="AKI stage 2", tone="yellow"),
    Term(id="aki-1", label="AKI stage 1", tone="yellow"),
    Term(id="warning", label="Warning", tone="yellow"),
    # The learned risk's own alerts (issue 15, only when a trust turns them on): blue, never
    # a chart's risk colour, and worded as an estimate.
    Term(id="learned-risk", label="Learned risk alert", tone="blue"),
    # Chart responses that raise alerts only when a trust adds them to `alert_responses`.
    Term(id="ward", label="Ward (nurse)", tone="blue"),
    Term(id="routine", label="Routine", tone="grey"),
)
"""Every alert severity the scorer can emit, most urgent first (the urgency rank): the charts'
responses (`scoring/charts/*.toml`), `warning` (observations overdue, a device silent), the
AKI warning stages `aki-1`..`aki-3` (`scoring/rules/aki.toml`) and `learned-risk` (the learned
risk's own alerts)."""

UNKNOWN_SEVERITY: Final = Term(id="", label="Alert", tone="grey")
"""How a severity not listed (a trust's own chart, a newer scorer) is shown: last, in grey."""

ALERT_KINDS: Final[tuple[Term, ...]] = (
    Term(id="score", label="Score"),
    Term(id="sepsis", label="Think sepsis"),
    Term(id="aki", label="AKI warning"),
    Term(id="overdue", label="Obs overdue"),
    Term(id="feed", label="Device silent"),
    Term(id="learned-risk", label="Model estimate"),
)
"""Every alert kind (CONTRACT §5 names score, overdue and feed; sepsis, aki and learned-risk
are extensions)."""

ALERT_STATES: Final[tuple[Term, ...]] = (
    Term(id="raised", label="not acknowledged", open=True),
    Term(id="escalated", label="escalated: not acknowledged", open=True),
    Term(id="acknowledged", label="acknowledged", open=True),
    Term(id="resolved", label="resolved"),
)
"""The alert states of CONTRACT §5 (the lifecycle of `surveillance.online._lifecycle`)."""

_NEWS2_RISKS: Final = (
    Term(id="low", label="Low risk", tone="white"),
    Term(id="low-medium", label="Low–medium risk", tone="yellow"),
    Term(id="medium", label="Medium risk", tone="orange"),
    Term(id="high", label="High risk", tone="red"),
)

RISKS: Final[Mapping[str, tuple[Term, ...]]] = {
    "NEWS2": _NEWS2_RISKS,
    "MEWS": _NEWS2_RISKS,
    "PEWS": (
        Term(id="none", label="No escalation", tone="white"),
        Term(id="low", label="Low", tone="yellow"),
        Term(id="medium", label="Medium", tone="orange"),
        Term(id="high", label="High", tone="pink"),
        Term(id="emergency", label="Emergency", tone="red"),
    ),
}
"""Each system's score risks (CONTRACT §4), least to most severe; a system not named here is
shown with NEWS2's."""

DEFAULT_RISK_SYSTEM: Final = "NEWS2"


PROMPTS: Final[tuple[Term, ...]] = (Term(id="think-sepsis", label="Think sepsis", tone="red"),)
"""The charts' prompts a score result may carry (`prompts`, README extension of CONTRACT §4)."""


class Vital(msgspec.Struct, kw_only=True, frozen=True):
    """A vital sign or scored parameter: short and long name, and unit (CONTRACT §3)."""

    key: str
    short: str
    long: str
    unit: str = ""


VITALS: Final[tuple[Vital, ...]] = (
    Vital(key="resp_rate", short="RR", long="Respiration rate", unit="/min"),
    Vital(key="spo2", short="SpO₂", long="SpO₂", unit="%"),
    Vital(key="air_or_oxygen", short="O₂", long="Air or oxygen"),
    Vital(key="oxygen", short="O₂", long="Oxygen"),
    Vital(key="on_oxygen", short="O₂", long="Air or oxygen"),
    Vital(key="oxygen_device", short="O₂", long="Oxygen device"),
    Vital(key="oxygen_flow_lpm", short="O₂ flow", long="Oxygen flow", unit="L/min"),
    Vital(key="oxygen_percent", short="O₂ %", long="Oxygen", unit="%"),
    Vital(key="systolic_bp", short="BP", long="Blood pressure", unit="mmHg"),
    Vital(key="diastolic_bp", short="DBP", long="Diastolic BP", unit="mmHg"),
    Vital(key="bp_code", short="BP code", long="BP not recorded"),
    Vital(key="heart_rate", short="HR", long="Pulse", unit="/min"),
    Vital(key="consciousness", short="ACVPU", long="Consciousness"),
    Vital(key="temperature", short="Temp", long="Temperature", unit="°C"),
    Vital(key="resp_distress", short="Resp distress", long="Resp. distress"),
    Vital(key="crt_seconds", short="CRT", long="Capillary refill", unit="s"),
    Vital(key="concern", short="Concern", long="Concern"),
    Vital(key="carer_question", short="Carer", long="Carer question"),
    Vital(key="suspected_infection", short="Infection?", long="Suspected infection"),
)
"""Every vital-sign key of an observation set (CONTRACT §3) and every scored parameter's key
(§4: `air_or_oxygen`, `oxygen`), as the screens label them."""

CLINICAL_EVENTS: Final[tuple[Term, ...]] = (
    Term(id="rrt-call", label="Rapid response call", tone="orange"),
    Term(id="cardiac-arrest", label="Cardiac arrest (2222)", tone="red", critical=True),
    Term(id="icu-admission", label="Unplanned ICU/HDU admission", tone="red", critical=True),
    Term(id="death", label="Death", tone="grey", critical=True),
    Term(id="fall", label="Fall", tone="yellow"),
    Term(id="pressure-ulcer", label="New pressure ulcer", tone="yellow"),
    Term(id="sepsis-treatment", label="Sepsis treatment (antibiotics)", tone="blue"),
    Term(id="medication-incident", label="Medication incident", tone="yellow"),
    Term(id="senior-review", label="Senior review (registrar or above, or outreach)", tone="blue"),
)
"""The clinical events and harms of CONTRACT §9 (the history API's `events`), in the contract's
order (then `senior-review`, an extension), for a page that marks them on the patient's chart; `critical` marks the outcomes the
learned risk is judged on (the composite: unplanned ICU/HDU admission, arrest, death)."""

HISTORY_KEYS: Final[tuple[str, ...]] = (
    "time",
    "obs_msg_id",
    "system",
    "chart",
    "total",
    "risk",
    "level",
    "complete",
    "missing",
    "parameters",
    "vitals",
    "monitoring",
    "spo2_scale",
    "single_parameter_triggers",
    "source",
    "learned_risk",
)
"""What the patient view keeps of each score it plots (the history API's entries, and the live
scores added to them). `vitals` are the values that reading measured, never a continuous
patient's carried-over snapshot values; `source` is the reading's (`manual`, `monitor`,
`wearable`); `learned_risk` the learned estimate stored with the score, when there was one
(issue 15: `probability`, `horizon_hours`, `reasons`, `model`, `shadow`)."""


def severity_rank(severity: str) -> int:
    """Urgency rank of a severity: 0 most urgent; an unknown one after every known."""
    return _RANK.get(severity, len(SEVERITIES))


_RANK: Final = {term.id: rank for rank, term in enumerate(SEVERITIES)}


def vocabulary() -> dict[str, Any]:
    """The whole vocabulary as JSON-able data (what the wallboard serves)."""
    encoded = msgspec.json.encode(
        {
            "severities": SEVERITIES,
            "unknown_severity": UNKNOWN_SEVERITY,
            "kinds": ALERT_KINDS,
            "states": ALERT_STATES,
            "risks": RISKS,
            "prompts": PROMPTS,
            "default_risk_system": DEFAULT_RISK_SYSTEM,
            "vitals": VITALS,
            "history_keys": HISTORY_KEYS,
            "events": CLINICAL_EVENTS,
            "tones": TONES,
        }
    )
    data: dict[str, Any] = msgspec.json.decode(encoded)
    return data
