"""Recorded needs (CONTRACT §2): the simulated patients' shares follow `population.toml` by
cohort and age, dementia rises steeply with age, and the ADT carries them as ingest takes them,
without changing any other simulated value."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
import numpy as np
import pytest

from ingest import Admission, parse
from scoring import ChartSet
from simulators import NEEDS, draw_needs, need_share
from tests.sim_helpers import run

N = 20_000

# (cohort, age in years, the need, its share in population.toml): worked from the table.
SHARES = [
    ("adult", 40, "learning-disability", 0.015),
    ("adult", 40, "autism", 0.006),
    ("adult", 40, "physical-disability", 0.04),
    ("adult", 70, "physical-disability", 0.10),
    ("adult", 40, "mental-health", 0.06),
    ("adult", 50, "dementia", 0.003),
    ("adult", 64.9, "dementia", 0.003),
    ("adult", 65, "dementia", 0.03),
    ("adult", 80, "dementia", 0.12),
    ("adult", 87, "dementia", 0.25),
    ("adult", 95, "dementia", 0.35),
    ("child", 6, "autism", 0.02),
    ("child", 6, "dementia", 0.0),
    ("maternity", 30, "mental-health", 0.08),
    ("maternity", 30, "dementia", 0.0),
]


@pytest.mark.parametrize(("cohort", "age", "need", "share"), SHARES)
def test_the_table_gives_each_share_by_cohort_and_age(
    cohort: Any, age: float, need: str, share: float
) -> None:
    assert need_share(cohort, need, age) == pytest.approx(share)


@pytest.mark.parametrize(("cohort", "age", "need", "share"), SHARES)
def test_drawn_needs_come_at_their_share(cohort: Any, age: float, need: str, share: float) -> None:
    rng = np.random.default_rng(11)
    drawn = sum(need in draw_needs(rng, cohort, age) for _ in range(N))
    # within 4 binomial standard errors (and exactly none where the share is 0)
    assert abs(drawn / N - share) <= 4 * (share * (1 - share) / N) ** 0.5


def test_dementia_rises_steeply_after_65_and_needs_keep_the_contracts_order() -> None:
    shares = [need_share("adult", "dementia", age) for age in (50, 70, 80, 88, 92)]
    assert shares == sorted(shares)
    assert shares[-1] > 50 * shares[0]
    rng = np.random.default_rng(3)
    for _ in range(2000):
        needs = draw_needs(rng, "adult", 90)
        assert list(needs) == [n for n in NEEDS if n in needs]


def test_adt_carries_needs_as_ingest_takes_them(charts: ChartSet) -> None:
    options: dict[str, Any] = {"wards": 4, "beds": 30, "hours": 72, "seed": 4, "mode": "manual"}
    messages = run(charts, **options)
    assert messages == run(charts, **options)  # deterministic per seed
    found: dict[str, tuple[str, ...]] = {}
    cohorts: dict[str, str] = {}
    for m in messages:
        if not m.topic.endswith("/adt"):
            continue
        body = msgspec.json.decode(m.payload)
        item = parse(m.topic, m.payload)
        assert isinstance(item, Admission), item  # ingest takes every simulated ADT
        needs = tuple(body.get("needs", ()))
        assert "needs" not in body or needs  # left out, never an empty list
        assert item.context.needs == (needs or None)
        assert found.setdefault(body["patient_id"], needs) == needs  # the same at discharge
        cohorts[body["patient_id"]] = body["cohort"]
    counted = Counter(n for needs in found.values() for n in needs)
    assert set(counted) <= set(NEEDS)
    assert counted["dementia"] >= 1
    assert all("dementia" not in found[p] for p, c in cohorts.items() if c != "adult")
    with_needs = sum(1 for needs in found.values() if needs)
    assert 0.05 <= with_needs / len(found) <= 0.30


def _without_needs(messages: list[Any]) -> list[tuple[int, str, bytes]]:
    out = []
    for m in messages:
        payload = m.payload
        if m.topic.endswith("/adt"):
            body = msgspec.json.decode(payload)
            body.pop("needs", None)
            payload = msgspec.json.encode(body)
        out.append((m.time, m.topic, payload))
    return out


def test_needs_change_no_other_value(charts: ChartSet, monkeypatch: pytest.MonkeyPatch) -> None:
    """Needs come from a stream of their own: a run whose patients have none recorded is, but
    for the `needs` field, the same byte for byte."""
    options: dict[str, Any] = {"wards": 2, "beds": 10, "hours": 48, "seed": 9}
    messages = run(charts, **options)
    assert any(b"needs" in m.payload for m in messages if m.topic.endswith("/adt"))
    monkeypatch.setattr("simulators._ward.draw_needs", lambda *args: ())
    plain = run(charts, **options)
    assert not any(b"needs" in m.payload for m in plain)
    assert _without_needs(messages) == _without_needs(plain)
