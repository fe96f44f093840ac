"""A continuous patient's rolling snapshot: each vital's latest value, while it is fresh.

A device's reading joins the snapshot; the snapshot is scored (README, "The live pipeline").
Blood pressure and oxygen are taken as groups: a systolic never pairs with another reading's
diastolic or `bp_code`. Pure: times are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec

from ingest import DEFAULT_FRESHNESS as DEFAULT_FRESHNESS  # noqa: PLC0414 - re-exported: one table
from scoring import Vitals

GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "bp": ("systolic_bp", "diastolic_bp", "bp_code"),
    "oxygen": ("on_oxygen", "oxygen_device", "oxygen_flow_lpm", "oxygen_percent"),
}
"""Vitals that are only ever taken together from one reading."""
_GROUP_OF: Final = {key: group for group, keys in GROUPS.items() for key in keys}


@dataclass(slots=True)
class Value:
    """One snapshot key's values (a vital, or a group's vitals), when they were taken, and
    the msg_id of the reading they came from (None in state kept before it was recorded): a
    correction names the reading it replaces (`corrected_ids`)."""

    values: dict[str, Any]
    time: datetime
    msg_id: str | None = None
    manual: bool = False  # from a nurse's set: a device's correction never replaces it
    # a correction's value: the msg_id of the first reading it (or the correction it
    # corrects) replaced, so a correction of a correction still names the original
    origin: str | None = None
    # the reading's own time, when `time` (when it counts from) is its arrival instead (a
    # device clock running ahead): a correction of it says the reading's own time
    taken: datetime | None = None


def values_of(
    vitals: Vitals,
    at: datetime,
    msg_id: str | None = None,
    *,
    manual: bool = False,
    taken: datetime | None = None,
) -> dict[str, Value]:
    """A reading's vitals by snapshot key (a vital, or its group), each stamped `at` (and
    `taken`, the reading's own time, when it is not `at`)."""
    values: dict[str, Value] = {}
    own = None if taken == at else taken
    for key, value in msgspec.structs.asdict(vitals).items():
        if value is None:
            continue
        group = _GROUP_OF.get(key, key)
        made = Value({}, at, msg_id, manual, taken=own)
        values.setdefault(group, made).values[key] = value
    return values


def not_over_manual(
    held: Mapping[str, Value], updates: Mapping[str, Value], corrected: Iterable[str]
) -> dict[str, Value]:
    """A device correction's `updates` without those of the vitals it corrects that would
    replace a nurse's value of the same time: a device corrects its own readings, never a
    nurse's set."""
    keys = {_GROUP_OF.get(vital, vital) for vital in corrected}
    return {
        key: value
        for key, value in updates.items()
        if not (
            key in keys
            and (old := held.get(key)) is not None
            and old.manual
            and _same_time(old, value)
        )
    }


def _same_time(old: Value, new: Value) -> bool:
    """Whether two values are of one reading time (their own, if a clock ran ahead)."""
    return old.time == new.time or (old.taken or old.time) == (new.taken or new.time)


def corrected_ids(
    held: Mapping[str, Value], updates: Mapping[str, Value], corrected: Iterable[str]
) -> tuple[str, ...]:
    """The msg_ids of the held readings a correction replaces: for each vital it corrects,
    the held value of its snapshot key taken at the same time, from another message and not
    from a nurse's set; first the originals (sorted), the readings first corrected, then the
    others (sorted): a correction of a correction names the original too, so it replaces the
    same record. Empty when none is held, as when a newer reading of that vital came since.
    Each of `updates` that replaces one is stamped with its `origin`."""
    found: set[str] = set()
    origins: set[str] = set()
    for vital in corrected:
        key = _GROUP_OF.get(vital, vital)
        old, new = held.get(key), updates.get(key)
        if old is None or new is None or not _same_time(old, new):
            continue
        if old.msg_id is not None and old.msg_id != new.msg_id and not old.manual:
            found.add(old.msg_id)
            new.origin = old.origin or old.msg_id
            origins.add(new.origin)
    return (*sorted(origins), *sorted(found - origins))


def merge_values(held: Mapping[str, Value], updates: Mapping[str, Value]) -> dict[str, Value]:
    """`held` with each of `updates` that is not older than the value it replaces."""
    merged = dict(held)
    for key, value in updates.items():
        old = merged.get(key)
        if old is None or old.time <= value.time:
            merged[key] = value
    return merged


def fresh_vitals(
    values: Mapping[str, Value], at: datetime, freshness: Mapping[str, float]
) -> Vitals:
    """The snapshot at `at`: every value no older than its key's freshness (seconds)."""
    fresh: dict[str, Any] = {}
    for key, value in values.items():
        if (at - value.time).total_seconds() <= freshness.get(key, 0.0):
            fresh.update(value.values)
    return Vitals(**fresh)
