"""What the device parsers (FHIR, HL7 v2) share: readings, per-value refusals, and series.

A device message holds many readings. Each one is read or refused on its own, so one bad
value never costs the message's good ones; the message as a whole is refused only when
nothing in it can be scored. Pure: no I/O, no clock.

`Observation.ignored` entries written here (beside those of the parsers: `loinc:…`, `mdc:…`,
`absent:…`, `status:…`):

- `refused:{error}:{code}: {reason}`: a reading that could not be used, with the dead-letter
  error it would have had alone (`unit`, `implausible`, `invalid`, `test-data`).
- `superseded:{code}`: the same vital from a less preferred code (HL7: the oximeter's pulse
  rate when the ECG heart rate is there).
- `earlier:{code}@{time}={value}`: an earlier reading of a vital in a timed series; the
  latest is the one read.
- `duplicate:{code}@{time}={value}`: the same reading given again (same vital, time, value).
- `unpaired:{code}@{time}={value}`: a diastolic pressure taken at another time than the
  systolic read (the two come from one measurement, or the diastolic is not read).
- `refused:time:{code}: …`: a reading dated after `not_after` (the receipt time plus the
  scorer's allowed clock skew, when the caller gives it): it would make itself the set's time
  and the scorer refuse the whole message, so it alone is refused.
- `stale:{code}@{time}={value}`: a vital's chosen reading older than the set's time (its
  latest reading) by more than that vital's freshness: scored at the set's time it would pass
  for a current value, so it is not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NamedTuple

from ingest._native import Refusal, shortlist


class Limits(NamedTuple):
    """A range of values a device reading must fall in to be a reading at all."""

    low: float
    low_inclusive: bool
    high: float
    high_inclusive: bool

    def contains(self, x: float) -> bool:
        above = x > self.low or (self.low_inclusive and x == self.low)
        below = x < self.high or (self.high_inclusive and x == self.high)
        return above and below

    def describe(self) -> str:
        low = f"{'≥' if self.low_inclusive else '>'} {self.low:g}"
        high = f"{'≤' if self.high_inclusive else '<'} {self.high:g}"
        return f"{low} and {high}"


DEVICE_LIMITS: Final[dict[str, Limits]] = {
    "resp_rate": Limits(0, False, 120, True),
    "heart_rate": Limits(0, False, 300, True),
    "systolic_bp": Limits(0, False, 400, False),
    "diastolic_bp": Limits(0, False, 300, False),
    "temperature": Limits(10, False, 50, False),
    "spo2": Limits(10, True, 100, True),
    "oxygen_flow_lpm": Limits(0, False, 80, True),
}
"""The widest `reject` range of any shipped chart (`scoring/charts/plausibility.toml`, SPEC
§6.3): a device value outside it is refused by ingest, on its own, whatever the patient's
chart (a test keeps the two equal). A value inside it may still be refused by the scorer for
the patient's own chart (an adult's RR of 90, say, which only PEWS accepts)."""


def number(x: float) -> str:
    """A value as it was sent: 22, not 22.0; 8388607, not 8.38861e+06."""
    return str(int(x)) if x.is_integer() else repr(x)


def implausible(key: str, value: float) -> str | None:
    """Why a device's `value` for `key` is no reading (a sentinel, 0, a fraction), or None."""
    limits = DEVICE_LIMITS.get(key)
    if limits is None or limits.contains(value):
        return None
    if value == 0:
        hint = "0 means not measured"
    elif value < 0:
        hint = "a negative number is a device's 'no value' marker"
    elif key == "spo2" and value <= 1:
        hint = (
            f"SpO2 is a percentage: {number(value)} looks like a fraction; units are never "
            "converted"
        )
    else:
        hint = "outside what any chart accepts"
    return f"{number(value)} is not a reading: {key} must be {limits.describe()} ({hint})"


DEFAULT_FRESHNESS: Final[Mapping[str, float]] = {
    "resp_rate": 300.0,
    "spo2": 300.0,
    "heart_rate": 300.0,
    "bp": 3600.0,
    "temperature": 4 * 3600.0,
    "consciousness": 4 * 3600.0,
    "oxygen": 4 * 3600.0,
    "resp_distress": 3600.0,
    "crt_seconds": 3600.0,
    "concern": 4 * 3600.0,
    "carer_question": 4 * 3600.0,
    # The nurse's answer to "is infection suspected?" holds until the next routine round.
    "suspected_infection": 12 * 3600.0,
}
"""Seconds a value counts as current, per vital or group (`bp`, `oxygen`): the scorer's
snapshot keeps a value this long (`[scorer.freshness]` overrides it there), and a device
message's reading older than the message's latest by more is not read (`fresh`). Defined
here, in the lower layer, and imported by the scorer, so the one table serves both."""

FRESHNESS_KEY: Final[Mapping[str, str]] = {
    "systolic_bp": "bp",
    "diastolic_bp": "bp",
    "oxygen_flow_lpm": "oxygen",
}
"""The freshness key of a device vital read as part of a group (the scorer's `GROUPS`; a
test keeps the two equal); any other vital is its own key."""


ENTRY_REASON_MAX: Final = 300
"""Characters of a refusal's reason kept in its `ignored` entry (a reason may quote the
sender's text; the entry is stored with every observation)."""


def refused(refusal: Refusal, code: str) -> str:
    """The `ignored` entry of a reading refused on its own."""
    reason = refusal.reason
    if len(reason) > ENTRY_REASON_MAX:
        reason = f"{reason[:ENTRY_REASON_MAX]}… ({len(reason) - ENTRY_REASON_MAX} more characters)"
    return f"refused:{refusal.error}:{code[:ENTRY_REASON_MAX]}: {reason}"


@dataclass(slots=True)
class Reading:
    """One value of a vital, as read from the message.

    `rank` orders the codes of one vital (0: its own code; higher: less preferred, HL7's
    `MDC_ALSO`); `label` names the code (`loinc:8867-4`, `mdc:147842`) for `ignored`. Read
    only, though not frozen: a frozen dataclass costs three times as much to make, once per
    value of every device message.
    """

    key: str
    value: float
    time: datetime
    label: str
    rank: int = 0
    where: str = ""
    correction: bool = False  # HL7 OBX-11 C, FHIR corrected/amended: replaces what it corrects


def choose(readings: Iterable[Reading]) -> tuple[dict[str, Reading], list[str], list[str]]:
    """Each vital's reading, `ignored` entries for every other one, and the reasons of the
    vitals refused for contradicting themselves.

    Per vital: the best-ranked code wins (`superseded` for the others); among its readings
    the latest time (`earlier` for the rest, so a Bundle of timed readings is a series whose
    latest value is read, not "the same vital twice"); the same time, code and value again is
    a `duplicate`. Two different values at that latest time cannot both be right and neither
    is read: a `refused:invalid` entry names both.
    """
    by_key: dict[str, list[Reading]] = {}
    for reading in readings:
        by_key.setdefault(reading.key, []).append(reading)
    chosen: dict[str, Reading] = {}
    ignored: list[str] = []
    conflicts: list[str] = []
    for key, found in by_key.items():
        if len(found) == 1:  # the common case: one reading of the vital
            chosen[key] = found[0]
            continue
        best = min(r.rank for r in found)
        ranked = [r for r in found if r.rank == best]
        latest = max(r.time for r in ranked)
        now = [r for r in ranked if r.time == latest]
        values = sorted({r.value for r in now})
        for r in found:
            if r.rank != best:
                ignored.append(f"superseded:{r.label}")
        if len(values) > 1:
            codes = sorted({r.label.split(":", 1)[-1] for r in now})
            shown = ", ".join(f"{number(r.value)} in {r.where or r.label}" for r in now)
            reason = (
                f"{key} is given twice at {latest.isoformat()} with different values ({shown}); "
                "which one is right cannot be told, so neither is read"
            )
            ignored.append(f"refused:invalid:{'/'.join(codes)}: {reason}")
            conflicts.append(reason)
        else:
            chosen[key] = now[0]
        for r in ranked:
            if r.time != latest:
                ignored.append(f"earlier:{r.label}@{r.time.isoformat()}={number(r.value)}")
            elif len(values) == 1 and r is not now[0]:
                ignored.append(f"duplicate:{r.label}@{r.time.isoformat()}={number(r.value)}")
    systolic, diastolic = chosen.get("systolic_bp"), chosen.get("diastolic_bp")
    if systolic and diastolic and systolic.time != diastolic.time:
        # One cuff measurement gives both; never pair one's systolic with another's diastolic
        # (the scorer's snapshot takes BP as a group too). The systolic is the one scored.
        del chosen["diastolic_bp"]
        time = diastolic.time.isoformat()
        ignored.append(f"unpaired:{diastolic.label}@{time}={number(diastolic.value)}")
    return chosen, ignored, conflicts


def not_ahead(
    readings: Sequence[Reading], not_after: datetime | None, msg_id: str | None
) -> tuple[list[Reading], list[Refusal], list[str]]:
    """The readings not dated after `not_after` (all of them when it is None), the refusals
    (`time`) of the others and their `ignored` entries.

    Applied before `choose`, so a forged far-future reading neither becomes its vital's latest
    nor the set's time: the message's other readings are still read.
    """
    if not_after is None:
        return list(readings), [], []
    kept: list[Reading] = []
    refusals: list[Refusal] = []
    ignored: list[str] = []
    for r in readings:
        if r.time <= not_after:
            kept.append(r)
            continue
        reason = (
            f"{r.where or r.label} is dated {r.time.isoformat()}, after {not_after.isoformat()} "
            "(its receipt plus the allowed clock skew): a reading from the future is not read"
        )
        refusal = Refusal("time", reason, msg_id)
        refusals.append(refusal)
        ignored.append(refused(refusal, r.label.split(":", 1)[-1]))
    return kept, refusals, ignored


def fresh(
    chosen: Mapping[str, Reading], freshness: Mapping[str, float] | None = None
) -> tuple[dict[str, Reading], list[str]]:
    """`chosen` without the readings too old to be scored with the set, and their `stale`
    entries.

    The set's time is its latest reading's; a reading more than its vital's freshness
    (seconds, `DEFAULT_FRESHNESS` unless given; a vital missing from it has none) older than
    that would be scored as current, so it is left out. The latest reading itself is always
    kept, so something remains whenever `chosen` holds anything.
    """
    if not chosen:
        return {}, []
    ages = DEFAULT_FRESHNESS if freshness is None else freshness
    latest = max(r.time for r in chosen.values())
    kept: dict[str, Reading] = {}
    ignored: list[str] = []
    for key, r in chosen.items():
        if (latest - r.time).total_seconds() > ages.get(FRESHNESS_KEY.get(key, key), 0.0):
            ignored.append(f"stale:{r.label}@{r.time.isoformat()}={number(r.value)}")
        else:
            kept[key] = r
    return kept, ignored


def nothing_to_score(
    fmt: str, refusals: Sequence[Refusal], ignored: Sequence[str], expected: str, msg_id: str
) -> Refusal:
    """The refusal of a message in which nothing can be scored.

    When readings were refused, the message takes their error if they share one (`unit`,
    `implausible`, `test-data`, `invalid`), else `no-vitals`, and the reason lists them; when
    none was, it is `no-vitals` with what was found instead.
    """
    if refusals:
        errors = {r.error for r in refusals}
        error = errors.pop() if len(errors) == 1 else "no-vitals"
        reasons = shortlist([r.reason for r in refusals], most=5)
        others = [i for i in ignored if not i.startswith("refused:")]
        also = f" (also found: {shortlist(others)})" if others else ""
        return Refusal(error, f"{fmt}: no value can be scored: {reasons}{also}", msg_id)
    found = f" (found only: {shortlist(list(ignored))})" if ignored else ""
    return Refusal(
        "no-vitals", f"{fmt}: no vital sign this system reads; {expected}{found}", msg_id
    )


def corrected(chosen: Mapping[str, Reading]) -> tuple[str, ...]:
    """The vitals of `chosen` read from a correction (sorted; empty: none is a correction)."""
    return tuple(sorted(key for key, reading in chosen.items() if reading.correction))
