"""The alert lifecycle, pure, on an injected clock: every transition and timeout, ladders, plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveillance import (
    DEFAULT_LADDERS,
    SENIORITY,
    Ladder,
    LifecycleError,
    Plan,
    Rung,
    acknowledge,
    advance,
    ladder_for,
    raise_alert,
    resolve,
)

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
URGENT = DEFAULT_LADDERS["urgent"]  # nurse-in-charge, medical team at 30 min, outreach at 60


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_raised_tells_the_first_rung() -> None:
    life, notice = raise_alert(URGENT, T0)
    assert (notice.state, notice.rung, notice.notify) == ("raised", 0, "nurse-in-charge")
    assert life.next_due() == at(900)  # re-notified before the medical team is called


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (899, []),
        (900, [("raised", 0, "nurse-in-charge", 1)]),  # re-notified
        (1799, [("raised", 0, "nurse-in-charge", 1)]),
        (1800, [("escalated", 1, "medical-team", 0)]),
        (3599, [("escalated", 1, "medical-team", 0), ("escalated", 1, "medical-team", 1)]),
        (3600, [("escalated", 1, "medical-team", 0), ("escalated", 2, "outreach", 0)]),
        (
            4500,
            [
                ("escalated", 1, "medical-team", 0),
                ("escalated", 2, "outreach", 0),
                ("escalated", 2, "outreach", 1),
            ],
        ),
    ],
)
def test_unacknowledged_alerts_climb_the_ladder(
    seconds: float, expected: list[tuple[str, int, str, int]]
) -> None:
    """One late look at the clock (a service that was down) still passes every rung in turn."""
    life, _ = raise_alert(URGENT, T0)
    life, notices = advance(life, at(seconds))
    assert [(n.state, n.rung, n.notify, n.renotified) for n in notices] == expected


def test_a_clock_looked_at_every_second_gives_the_same_rungs() -> None:
    life, _ = raise_alert(URGENT, T0)
    seen = []
    for second in range(4501):
        life, notices = advance(life, at(second))
        seen += [(second, n.state, n.rung, n.renotified) for n in notices]
    assert seen == [
        (900, "raised", 0, 1),
        (1800, "escalated", 1, 0),
        (2700, "escalated", 1, 1),
        (3600, "escalated", 2, 0),
        (4500, "escalated", 2, 1),
    ]


def test_acknowledgement_stops_the_climb_and_a_second_is_refused() -> None:
    life, _ = raise_alert(URGENT, T0)
    life, _ = advance(life, at(1800))
    life, notice = acknowledge(life, "Dr A", at(1900))
    assert (notice.state, notice.rung, notice.by) == ("acknowledged", 1, "Dr A")
    assert life.next_due() is None
    assert advance(life, at(99_999))[1] == []
    with pytest.raises(LifecycleError, match=r"already acknowledged \(by Dr A\)") as error:
        acknowledge(life, "Dr B", at(2000))
    assert error.value.code == "alert-state"


def test_resolve_needs_a_reason_and_closes_from_any_open_state() -> None:
    life, _ = raise_alert(URGENT, T0)
    with pytest.raises(LifecycleError, match="reason is required"):
        resolve(life, "Dr A", "  ", at(60))
    life, notice = resolve(life, "Dr A", " seen, plan made ", at(60))
    assert (life.state, notice.reason, life.open) == ("resolved", "seen, plan made", False)
    with pytest.raises(LifecycleError, match="already resolved"):
        acknowledge(life, "x", at(70))
    with pytest.raises(LifecycleError, match="already resolved"):
        resolve(life, "x", "again", at(70))
    assert advance(life, at(99_999))[1] == []


@pytest.mark.parametrize(
    ("severity", "system", "first"),
    [
        ("emergency", "NEWS2", "outreach"),  # NEWS2 ≥ 7: outreach at once
        ("emergency", "PEWS", "2222-paediatric-emergency"),
        ("urgent", "NEWS2", "nurse-in-charge"),
        ("rapid-review", "PEWS", "rapid-review"),
        ("something-new", "NEWS2", "nurse-in-charge"),  # a severity no ladder names
    ],
)
def test_ladders_by_system_and_severity(severity: str, system: str, first: str) -> None:
    assert ladder_for(DEFAULT_LADDERS, severity, system).rungs[0].notify == first


def test_a_ceiling_of_care_cuts_the_rungs_above_it() -> None:
    plan = Plan(ceiling="medical-team", by="Dr C", reason="ward-based care, agreed with family")
    ladder = ladder_for(DEFAULT_LADDERS, "urgent", "NEWS2", plan=plan, rank=3)
    assert [rung.notify for rung in ladder.rungs] == ["nurse-in-charge", "medical-team"]
    life, _ = raise_alert(ladder, T0)
    life, notices = advance(life, at(7200))
    assert [(n.state, n.notify) for n in notices] == [
        ("escalated", "medical-team"),
        ("escalated", "medical-team"),  # re-notified, never outreach
    ]


@pytest.mark.parametrize(
    ("severity", "system", "ceiling", "roles"),
    [
        ("emergency", "NEWS2", "medical-team", ["medical-team"]),  # no outreach, no ICU
        ("emergency", "NEWS2", "outreach", ["outreach"]),
        ("urgent", "NEWS2", "nurse-in-charge", ["nurse-in-charge"]),
        ("urgent", "NEWS2", "ward-own-role", ["nurse-in-charge", "medical-team", "outreach"]),
    ],
)
def test_a_ceiling_compares_roles_by_seniority(
    severity: str, system: str, ceiling: str, roles: list[str]
) -> None:
    plan = Plan(ceiling=ceiling, by="Dr C", reason="agreed")
    ladder = ladder_for(DEFAULT_LADDERS, severity, system, plan=plan, rank=4)
    assert [rung.notify for rung in ladder.rungs] == roles
    assert ladder.rungs[0].after == 0


def test_an_agreed_threshold_keeps_lower_levels_on_the_first_rung() -> None:
    plan = Plan(threshold_rank=4, by="Dr C", reason="chronic NEWS2 5 (COPD)")
    below = ladder_for(DEFAULT_LADDERS, "urgent", "NEWS2", plan=plan, rank=3)
    at_or_above = ladder_for(DEFAULT_LADDERS, "emergency", "NEWS2", plan=plan, rank=4)
    assert [r.notify for r in below.rungs] == ["nurse-in-charge"]
    assert at_or_above == DEFAULT_LADDERS["emergency"]


@pytest.mark.parametrize(
    ("rungs", "renotify"),
    [((), 60), ((Rung(10, "x"),), 60), ((Rung(0, "a"), Rung(0, "b")), 60), ((Rung(0, "a"),), 0)],
)
def test_a_malformed_ladder_is_refused(rungs: tuple[Rung, ...], renotify: float) -> None:
    with pytest.raises(ValueError, match=r"ladder|rung|renotify"):
        Ladder(rungs, renotify)


@given(
    st.lists(st.integers(0, 30_000), min_size=1, max_size=40),
    st.integers(0, 40),
    st.sampled_from(sorted(DEFAULT_LADDERS)),
)
def test_the_climb_never_goes_down_or_skips_a_rung(
    steps: list[int], ack_after: int, severity: str
) -> None:
    ladder = DEFAULT_LADDERS[severity]
    life, _ = raise_alert(ladder, T0)
    now, rung = T0, 0
    for i, gap in enumerate(steps):
        now += timedelta(seconds=gap)
        if i == ack_after:
            life, notice = acknowledge(life, "x", now)
            assert notice.rung == rung
        life, notices = advance(life, now)
        for notice in notices:
            assert notice.rung in (rung, rung + 1)  # one rung at a time
            rung = notice.rung
            assert notice.notify == ladder.rungs[rung].notify
        due = life.next_due()
        assert due is None or due > now  # nothing left undone up to now
        if life.state == "acknowledged":
            assert notices == []  # quiet once someone has it


def test_every_shipped_rung_names_a_role_of_known_seniority() -> None:
    """So a ceiling of care can cut any shipped ladder (scoring/rules/ladders.toml)."""
    roles = {rung.notify for ladder in DEFAULT_LADDERS.values() for rung in ladder.rungs}
    assert roles <= set(SENIORITY)
