"""The observation set, patient context and score result, as the contract defines them.

The structs decode the contract's JSON strictly (CONTRACT §2–§4): unknown keys, wrong types,
NaN and times without an offset are refused by the decoder, so a typo can never be silently
ignored and then scored as if the value were missing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, TypeAlias

import msgspec

Consciousness: TypeAlias = Literal["A", "C", "V", "P", "U"]
OxygenDevice: TypeAlias = Literal["air", "NP", "FM", "HB", "NRB", "V", "HF", "CP", "BiP"]
BpCode: TypeAlias = Literal["NCO", "U0", "U4"]
RespDistress: TypeAlias = Literal["none", "mild", "moderate", "severe"]
ConcernLevel: TypeAlias = Literal["low", "medium", "high", "emergency"]
CarerAnswer: TypeAlias = Literal["W", "S", "B", "A", "U"]
Cohort: TypeAlias = Literal["adult", "child", "maternity"]
AgeBand: TypeAlias = Literal["0-11m", "1-4y", "5-12y", "13+y"]
Source: TypeAlias = Literal["manual", "monitor", "wearable"]
InfectionStatus: TypeAlias = Literal["suspected", "confirmed", "at-risk"]
Need: TypeAlias = Literal[
    "learning-disability", "autism", "physical-disability", "mental-health", "dementia"
]
AwareDatetime: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]
NonEmpty: TypeAlias = Annotated[str, msgspec.Meta(min_length=1)]


Initials = Annotated[str, msgspec.Meta(pattern=r"^[^\W\d_]{1,4}$")]
"""A patient's initials, 1 to 4 letters: all a public wallboard shows of who is in a bed."""


class Vitals(
    msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, omit_defaults=True
):
    """One observation set's vital signs (CONTRACT §3); every key is optional on its own.

    Encoded, a key that is absent is left out (never written as null).
    """

    resp_rate: float | None = None
    spo2: float | None = None
    on_oxygen: bool | None = None
    oxygen_device: OxygenDevice | None = None
    oxygen_flow_lpm: float | None = None
    oxygen_percent: float | None = None
    systolic_bp: float | None = None
    diastolic_bp: float | None = None
    bp_code: BpCode | None = None
    heart_rate: float | None = None
    consciousness: Consciousness | None = None
    temperature: float | None = None
    resp_distress: RespDistress | None = None
    crt_seconds: float | None = None
    concern: bool | ConcernLevel | None = None
    carer_question: CarerAnswer | None = None
    suspected_infection: bool | None = None
    """The set's answer to "is infection suspected?" (extension): never scored, never missing;
    with a chart's infection prompt (NEWS2 "think sepsis", SPEC §5.2) it may raise a prompt."""


VITAL_KEYS: tuple[str, ...] = Vitals.__struct_fields__
NUMERIC_KEYS: tuple[str, ...] = (
    "resp_rate",
    "spo2",
    "oxygen_flow_lpm",
    "oxygen_percent",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "temperature",
    "crt_seconds",
)


class ObservationSet(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """An observation set as it arrives on `wards/{ward}/beds/{bed}/obs` (CONTRACT §3)."""

    msg_id: NonEmpty
    patient_id: NonEmpty
    time: AwareDatetime
    vitals: Vitals
    source: Source = "manual"
    not_recorded: dict[str, str] = msgspec.field(default_factory=dict)


class Context(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Patient context: the fields of the ADT message (CONTRACT §2) plus placement and chart.

    `chart` forces a chart id (or a chart family such as `pews-nhse-2023`); otherwise the
    cohort chooses the chart.
    """

    msg_id: str | None = None
    time: AwareDatetime | None = None
    event: Literal["admit", "transfer", "discharge"] | None = None
    patient_id: str | None = None
    cohort: Cohort | None = None
    birth_date: date | None = None
    age_band: AgeBand | None = None
    spo2_scale: Literal[1, 2] = 1
    initials: Initials | None = None
    sex: str | None = None
    ethnicity: str | None = None
    imd_decile: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    needs: tuple[Need, ...] | None = None
    """Recorded needs (CONTRACT §2), for equity analysis only: never scored, never shown on a
    ward board."""
    gestation_weeks: float | None = None
    postnatal_days: float | None = None
    chart: str | None = None
    ward: str | None = None
    bed: str | None = None
    infection: InfectionStatus | None = None
    """Known infection status (extension): infection `suspected` or `confirmed`, or `at-risk`
    of it (neutropenia, immunosuppression). Never scored; it raises a chart's infection prompt
    (NEWS2 "think sepsis", SPEC §5.2) as `suspected_infection` in a set does."""


class ScoreRequest(ObservationSet, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One line of `surveillance score`: an observation set with its `context` (CONTRACT §7)."""

    context: Context


class ScoreResult(msgspec.Struct, kw_only=True, frozen=True):
    """A score result (CONTRACT §4), with this project's extensions after `response`.

    For an incomplete set (`complete` false) `total` and `risk` cover the parameters present:
    they are lower bounds, and `missing` names the parameters that were not scored.
    """

    patient_id: str
    ward: str | None
    bed: str | None
    time: datetime
    obs_msg_id: str
    system: str
    chart: str
    total: int
    parameters: dict[str, int]
    risk: str
    complete: bool
    missing: list[str]
    monitoring: str
    next_obs_due: datetime | None
    response: str
    # Extensions (README, "Score result extensions").
    level: str
    clinical_response: str
    spo2_scale: int | None
    single_parameter_triggers: list[str]
    triggers: list[str]
    prompts: list[str]
    queries: list[str]
    not_recorded: dict[str, str]
    ignored: list[str]
    """The vitals given that the chart does not score or read (an adult's `resp_distress` on
    NEWS2, say), sorted: listed, never dropped in silence, and never part of the score."""
    chart_status: str
    vitals: Vitals
    """The vitals scored: the set itself, or a continuous patient's merged snapshot."""
    last_manual_obs: datetime | None = None
    """The nurse's full set that `next_obs_due` counts from: this set when it is one (source
    `manual`); for a continuous patient's snapshot, the last one before it (the online scorer
    fills it in; None when none was taken since admission)."""
    obs_interval_minutes: float | None = None
    """The level's monitoring interval: `next_obs_due` is this long after the set it counts
    from (None when the chart gives no interval)."""
    measured: Vitals | msgspec.UnsetType = msgspec.UNSET
    """A continuous device's reading (extension): the vitals that reading measured itself, as
    the patient view plots them (`vitals` is the merged snapshot scored, with values carried
    over from earlier readings). Absent when `vitals` is all the set measured (a nurse's set)."""
