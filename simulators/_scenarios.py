"""The scenarios a simulated patient follows, and the case mix of each kind of ward.

Effects are at severity 1 (see `_physiology.Effects`); a scenario's severity rises from its
onset over `rise_hours` to a peak drawn from `peak`, unless treatment turns it first. The
numbers are simulation parameters chosen so that the patterns read true to a clinician:
they are not clinical reference values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulators._physiology import Cohort, Effects, Phase

Course = Literal["stable", "rising", "recovering"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """What happens to a patient during the simulation."""

    name: str
    cohort: Cohort
    course: Course
    effects: Effects
    summary: str
    rise_hours: tuple[float, float] = (1.0, 1.0)
    peak: tuple[float, float] = (0.0, 0.0)
    treat_probability: float = 0.65
    half_life_hours: float = 6.0
    phase: Phase | None = None
    copd: bool = False
    max_age_months: float | None = None
    onset_hours: tuple[float, float] | None = None
    """Onset this many hours after admission (default: any time the run leaves room for)."""
    icu_at: float = 1.1
    """The severity past which the patient goes to ICU (lower in the frail, `_population`)."""
    arrest_at: float = 1.4
    """The severity past which the heart may stop (lower in the frail)."""
    overt: bool = True
    """Whether the chart's urgent threshold is crossed before an outcome can begin (in a
    patient without chronic abnormality or frailty); False for an illness that shows as a
    trend within the normal bands first."""


_WELL = Effects(0, 0, 0, 0, 0, 0, (9, 9, 9, 9))
_SEPSIS = Effects(
    heart_rate=0.55,
    resp_rate=0.8,
    systolic_bp=-0.33,
    diastolic_bp=-0.35,
    spo2=-6.0,
    temperature=2.0,
    consciousness=(0.8, 1.15, 1.35, 1.5),
    crt=3.0,
    distress=0.5,
    creatinine=1.8,
)
_BLEED = Effects(
    heart_rate=0.7,
    resp_rate=0.6,
    systolic_bp=-0.42,
    diastolic_bp=-0.4,
    spo2=-3.0,
    temperature=-0.6,
    consciousness=(0.95, 1.25, 1.45, 1.6),
    crt=3.0,
    creatinine=1.2,
)
_COPD = Effects(
    heart_rate=0.35,
    resp_rate=0.85,
    systolic_bp=0.05,
    diastolic_bp=0.05,
    spo2=-7.0,
    temperature=0.7,
    consciousness=(0.95, 1.2, 1.45, 1.6),
    distress=0.8,
)
_BRONCHIOLITIS = Effects(
    heart_rate=0.3,
    resp_rate=0.9,
    systolic_bp=0.0,
    diastolic_bp=0.0,
    spo2=-11.0,
    temperature=1.2,
    consciousness=(9, 1.3, 1.5, 1.7),
    crt=1.5,
    distress=1.1,
)
_PRE_ECLAMPSIA = Effects(
    heart_rate=0.15,
    resp_rate=0.25,
    systolic_bp=0.55,
    diastolic_bp=0.6,
    spo2=-3.0,
    temperature=0.0,
    consciousness=(1.05, 1.3, 1.45, 1.6),
    creatinine=0.8,
)

_OCCULT = Effects(
    heart_rate=0.25,
    resp_rate=0.45,
    systolic_bp=-0.12,
    diastolic_bp=-0.1,
    spo2=-4.5,
    temperature=0.3,
    consciousness=(1.15, 1.45, 1.6, 1.8),
    creatinine=0.6,
)
"""A quiet decline (pneumonia in the old, heart failure, a pulmonary embolus, an
electrolyte disturbance): breathing a little faster and saturation a little lower over many
hours, inside or at the edge of the NEWS2 zero bands, before anything is called."""

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("stable", "adult", "stable", _WELL, "stays well"),
        Scenario(
            "sepsis-slow",
            "adult",
            "rising",
            _SEPSIS,
            "sepsis over a day: fever and tachycardia, then tachypnoea, falling pressure, confusion",
            rise_hours=(10, 18),
            peak=(1.0, 1.7),
            treat_probability=0.85,
            half_life_hours=8,
        ),
        Scenario(
            "sepsis-fast",
            "adult",
            "rising",
            _SEPSIS,
            "fulminant sepsis over a few hours",
            rise_hours=(2.5, 4),
            peak=(1.2, 1.8),
            treat_probability=0.8,
            half_life_hours=6,
        ),
        Scenario(
            "post-op-bleed",
            "adult",
            "rising",
            _BLEED,
            "post-operative haemorrhage: rising pulse, falling pressure, cool and pale",
            rise_hours=(1.5, 3),
            peak=(0.6, 1.6),
            treat_probability=0.85,
            half_life_hours=2,
            onset_hours=(1, 10),
        ),
        Scenario(
            "copd-exacerbation",
            "adult",
            "rising",
            _COPD,
            "hypercapnic COPD on Scale 2 (SpO2 88–92 %); exacerbation, then over-oxygenation on a face mask",
            rise_hours=(6, 12),
            peak=(1.0, 1.6),
            treat_probability=0.85,
            half_life_hours=10,
            copd=True,
        ),
        Scenario("stable-copd", "adult", "stable", _WELL, "stable COPD on Scale 2", copd=True),
        Scenario(
            "occult-decline",
            "adult",
            "rising",
            _OCCULT,
            "a quiet decline over a day: respiratory rate creeps up and SpO2 down, inside the "
            "normal bands at first; the patient goes to ICU or arrests at a lower severity",
            rise_hours=(10, 30),
            peak=(0.5, 1.4),
            treat_probability=0.55,
            half_life_hours=10,
            icu_at=1.05,
            arrest_at=1.3,
            overt=False,
        ),
        Scenario(
            "sudden-collapse",
            "adult",
            "rising",
            _BLEED,
            "a sudden collapse within the hour (arrhythmia, pulmonary embolus, aspiration): "
            "nothing on the chart beforehand",
            rise_hours=(0.25, 1.0),
            peak=(1.3, 1.9),
            treat_probability=0.3,
            half_life_hours=3,
            arrest_at=1.3,
            overt=False,
        ),
        Scenario(
            "recovery",
            "adult",
            "recovering",
            _SEPSIS,
            "admitted unwell and already treated: scores fall over a day or two",
            peak=(0.2, 0.45),
            half_life_hours=10,
        ),
        Scenario("stable-child", "child", "stable", _WELL, "a well child"),
        Scenario(
            "bronchiolitis",
            "child",
            "rising",
            _BRONCHIOLITIS,
            "infant bronchiolitis: tachypnoea, recession, falling SpO2, oxygen then high flow",
            rise_hours=(12, 24),
            peak=(1.0, 1.6),
            half_life_hours=16,
            max_age_months=11,
        ),
        Scenario(
            "sepsis-child",
            "child",
            "rising",
            _SEPSIS,
            "paediatric sepsis: fever, tachycardia, slow capillary refill, then drowsiness",
            rise_hours=(3, 8),
            peak=(1.1, 1.7),
            half_life_hours=6,
        ),
        Scenario(
            "recovery-child",
            "child",
            "recovering",
            _BRONCHIOLITIS,
            "a child recovering from a respiratory illness",
            peak=(0.5, 0.8),
            half_life_hours=12,
        ),
        Scenario(
            "stable-antenatal", "maternity", "stable", _WELL, "a well pregnancy", phase="antenatal"
        ),
        Scenario(
            "stable-postnatal",
            "maternity",
            "stable",
            _WELL,
            "a well woman after birth",
            phase="postnatal",
        ),
        Scenario(
            "pre-eclampsia",
            "maternity",
            "rising",
            _PRE_ECLAMPSIA,
            "pre-eclampsia: climbing blood pressure, then headache and confusion",
            rise_hours=(6, 16),
            peak=(1.0, 1.6),
            half_life_hours=5,
            phase="antenatal",
        ),
        Scenario(
            "postpartum-haemorrhage",
            "maternity",
            "rising",
            _BLEED,
            "postpartum haemorrhage: tachycardia first, pressure falls late",
            rise_hours=(1, 2.5),
            peak=(1.1, 1.8),
            treat_probability=0.8,
            half_life_hours=1.5,
            phase="postnatal",
            onset_hours=(0.5, 8),
        ),
        Scenario(
            "maternal-sepsis",
            "maternity",
            "rising",
            _SEPSIS,
            "sepsis after birth",
            rise_hours=(6, 14),
            peak=(1.0, 1.6),
            phase="postnatal",
        ),
    )
}
"""Every scenario, by name."""

DETERIORATING = tuple(name for name, s in SCENARIOS.items() if s.course == "rising")

WARD_MIX: dict[str, dict[str, float]] = {
    "medical": {
        "stable": 0.684,
        "stable-copd": 0.06,
        "sepsis-slow": 0.05,
        "sepsis-fast": 0.012,
        "copd-exacerbation": 0.048,
        "occult-decline": 0.03,
        "sudden-collapse": 0.004,
        "recovery": 0.12,
    },
    "surgical": {
        "stable": 0.738,
        "post-op-bleed": 0.045,
        "sepsis-slow": 0.045,
        "sepsis-fast": 0.009,
        "occult-decline": 0.03,
        "sudden-collapse": 0.004,
        "recovery": 0.13,
    },
    "children": {
        "stable-child": 0.62,
        "bronchiolitis": 0.16,
        "sepsis-child": 0.07,
        "recovery-child": 0.15,
    },
    "maternity": {
        "stable-antenatal": 0.34,
        "stable-postnatal": 0.36,
        "pre-eclampsia": 0.12,
        "postpartum-haemorrhage": 0.1,
        "maternal-sepsis": 0.08,
    },
}
"""The case mix of each kind of ward: scenario → share of admissions."""

WARD_PREFIX = {"medical": "MED", "surgical": "SURG", "children": "PAED", "maternity": "MAT"}
