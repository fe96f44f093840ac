"""A simulated month of a few wards, as store records (the dashboard page's browser test and
API tests): admissions with equity fields in rough national proportions, nurses' sets due 4- or
12-hourly and taken on time, late or missed, score, sepsis and AKI alerts and their answers,
and harms. Seeded, so every run writes the same month; ward 7B gets slower at acknowledging
in the third week and 7A takes fewer sets on time in its last ten days, so their charts have
something special to show.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tests.surveillance.dashboard.builder import Hospital

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; London is on UTC in November
DAYS = 28
UNTIL = START + timedelta(days=DAYS)
WARDS = ("7A", "7B", "8A", "9C")
H = timedelta(hours=1)

_ETHNICITY = (
    ["A"] * 70
    + ["B", "C"] * 3
    + ["D", "F"] * 2
    + ["H", "J", "K", "L"] * 2
    + (["M", "N"] * 2 + ["R", "S"] + ["Z"] * 5 + ["99"] * 2)
)


def month(seed: int = 16) -> Hospital:
    """The month's records (about 500 stays, 9,000 sets)."""
    rng = random.Random(seed)  # noqa: S311 (test data)
    h = Hospital()
    n = 0
    for day in range(DAYS):
        for ward in WARDS:
            for _ in range(rng.randint(3, 6)):
                n += 1
                _stay(
                    h, rng, f"P{n:04d}", ward, START + timedelta(days=day, hours=rng.uniform(0, 24))
                )
    return h


def _stay(h: Hospital, rng: random.Random, patient: str, ward: str, admitted: datetime) -> None:
    age = rng.choice([25, 40, 55, 68, 72, 80, 83, 88, 91])
    needs = rng.choices(
        [[], ["dementia"], ["learning-disability"], ["autism"], ["mental-health"]],
        weights=[80, 10, 3, 3, 4],
    )[0]
    h.admit(
        patient,
        ward,
        admitted,
        sex=rng.choice(["1", "2"]),
        ethnicity=rng.choice(_ETHNICITY),
        birth_date=f"{2026 - age}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        imd_decile=rng.randint(1, 10),
        needs=needs,
    )
    stay = timedelta(hours=rng.uniform(30, 140))
    gone = admitted + stay
    interval = 4 * H if rng.random() < 0.35 else 12 * H
    t = admitted + timedelta(minutes=20)
    while t < gone and t < datetime(2026, 12, 31, tzinfo=UTC):
        due = t + interval
        h.obs(patient, ward, t, due)
        # 7A slips in its last ten days (fewer sets on time): a shift its daily chart shows.
        roll = rng.random() + (0.2 if ward == "7A" and t >= UNTIL - timedelta(days=10) else 0)
        if roll < 0.80:
            nxt = due - timedelta(minutes=rng.uniform(0, 40))
        elif roll < 0.93:
            nxt = due + interval * rng.uniform(0.34, 0.6)
        else:
            nxt = due + interval * rng.uniform(0.7, 1.2)
        t = nxt
    week = (admitted - START).days // 7
    if rng.random() < 0.12:  # a score alert, acknowledged after some minutes
        raised = admitted + timedelta(hours=rng.uniform(2, 20))
        slow = 4.0 if ward == "7B" and week == 2 else 1.0
        minutes = rng.expovariate(1 / (12 * slow))
        severity = rng.choice(["urgent-ward", "urgent", "urgent", "emergency"])
        h.alert(
            f"s-{patient}",
            patient,
            ward,
            [(raised, "raised"), (raised + timedelta(minutes=minutes), "acknowledged")],
            severity=severity,
        )
    if rng.random() < 0.03:  # a think-sepsis prompt, mostly treated within the hour
        raised = admitted + timedelta(hours=rng.uniform(3, 24))
        h.alert(f"x-{patient}", patient, ward, [(raised, "raised")], kind="sepsis")
        h.event(patient, ward, "sepsis-treatment", raised + timedelta(minutes=rng.uniform(10, 100)))
    if rng.random() < 0.03:  # an AKI alert
        raised = admitted + timedelta(hours=rng.uniform(3, 24))
        states = [(raised, "raised")]
        if rng.random() < 0.8:
            states.append((raised + timedelta(minutes=rng.uniform(5, 90)), "acknowledged"))
        h.alert(f"k-{patient}", patient, ward, states, kind="aki", system=None)
    for event, chance in (
        ("fall", 0.04),
        ("pressure-ulcer", 0.02),
        ("cardiac-arrest", 0.004),
        ("icu-admission", 0.01),
        ("death", 0.015),
    ):
        if rng.random() < chance:
            h.event(patient, ward, event, admitted + stay * rng.uniform(0.2, 0.9))
    h.adt(patient, ward, "discharge", gone)
