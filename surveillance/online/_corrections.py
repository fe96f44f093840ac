"""Corrections (HL7 OBX-11 C, FHIR corrected/amended): what a corrected value changes.

A correction replaces the patient's values of the same vitals at the same time (the scorer's
snapshot merge takes a value of equal time) and is scored at its time like any reading: the
latest one is published as the bed's score, an older one stored and charted as late data.
What this module adds, pure:

- its score's JSON says it is a correction and of what: `"corrects": [obs msg_id, …]` (a
  README extension of CONTRACT §4; the list may be empty when the corrected reading is no
  longer held, as when a newer one of that vital came since). The store keeps both scores,
  never rewritten: the correction's `corrects` is the audit trail, and the patient view
  leaves the corrected scores out of the chart (`superseded`), their readings not corrected
  plotted with the correction (`folded`).
- an alert raised from the value it corrects stays open (a person resolves it: a correction
  arriving by machine never silences one); it is told, with a `Note` (an event in the same
  state, its `note` saying what was corrected), unless the correction raised it higher, whose
  event says so itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec

from ingest import Observation
from scoring import ScoreResult
from surveillance.online._decisions import Note
from surveillance.online._desk import OpenAlert

FROM_VITALS: Final = frozenset({"score", "sepsis", "learned-risk"})
"""Alert kinds a score of vital signs raises: only these are noted. Never a silent device, a
late set, or an AKI stage (a creatinine result's, whatever its time); nor a kind added later
until it is known to come from the vitals."""

_FIELD: Final = b',"corrects":'


def marked(payload: bytes, corrects: Sequence[str]) -> bytes:
    """A score's JSON object with `"corrects": [...]` added as its last field."""
    return b"".join((payload[:-1], _FIELD, msgspec.json.encode(list(corrects)), b"}"))


def raised_by(
    alerts: Iterable[OpenAlert],
    item: Observation,
    corrects: Sequence[str],
    spared: Collection[str] = (),
) -> list[OpenAlert]:
    """The open alerts of a correction's patient that a value it corrects raised: named by
    `corrects`, or scored at the correction's time (the reading it corrects may be no longer
    held, and still have raised the alert); never one raised by a nurse's set the correction
    did not replace (`spared`)."""
    if not item.corrected:
        return []
    when, own = item.obs.time, item.msg_id
    return [
        alert
        for alert in alerts
        if alert.kind in FROM_VITALS
        and alert.obs_msg_id != own
        and alert.obs_msg_id not in spared
        and (alert.obs_msg_id in corrects or alert.scored_at == when)
    ]


def notes(wrong: Sequence[OpenAlert], item: Observation, result: ScoreResult) -> list[Note]:
    """A note on each alert of `wrong` still raised from the corrected value (one the
    correction raised higher now names it: its own event says so)."""
    found = []
    for alert in wrong:
        if alert.obs_msg_id == item.msg_id:  # upgraded by the correction itself
            continue
        vitals = ", ".join(f"{key} {_value(item, key)}" for key in item.corrected)
        note = (
            f"corrected: {item.msg_id} corrects the reading of {item.obs.time.isoformat()} "
            f"({vitals}); scored {result.system} {result.total} ({result.risk}) with it. "
            "This alert was raised from the value corrected: it stays open until a person "
            "resolves it"
        )
        found.append(Note(alert.alert_id, note))
    return found


def only_corrections(item: Observation) -> bool:
    """Whether every vital `item` read is a correction (none is a new reading of its own)."""
    if not item.corrected:
        return False
    vitals = msgspec.structs.asdict(item.obs.vitals)
    return {key for key, value in vitals.items() if value is not None} <= set(item.corrected)


def _value(item: Observation, key: str) -> Any:
    value = getattr(item.obs.vitals, key, None)
    return "?" if value is None else value


def superseded(results: Sequence[Mapping[str, Any]]) -> set[int]:
    """The positions in `results` (score results of one patient, each with `obs_msg_id` and
    `corrects`) of the scores a later correction replaced: the patient view does not plot a
    corrected value as if it had been measured."""
    replaced = {msg_id for result in results for msg_id in (result.get("corrects") or ()) if msg_id}
    return {n for n, result in enumerate(results) if result.get("obs_msg_id") in replaced}


def folded(results: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """`results` (score results of one patient, each with the `vitals` its own reading
    measured) without the scores a later correction replaced (`superseded`); the readings of
    a replaced score that its correction did not correct (a monitor's heart rate and SpO2
    when only its RR was corrected), measured at the same time, are plotted with the
    correction, so a partial correction takes only the wrong values off the chart."""
    gone = superseded(results)
    if not gone:
        return list(results)
    replaced = {results[n].get("obs_msg_id"): results[n] for n in gone}
    kept: list[Mapping[str, Any]] = []
    for n, result in enumerate(results):
        if n in gone:
            continue
        carried: dict[str, Any] = {}
        for msg_id in result.get("corrects") or ():  # the originals first, then later ones
            old = replaced.get(msg_id)
            if old is not None and isinstance(old.get("vitals"), Mapping):
                carried.update(old["vitals"])
        own = result.get("vitals")
        if carried and isinstance(own, Mapping):
            kept.append({**result, "vitals": {**carried, **own}})
        else:
            kept.append(result)
    return kept
