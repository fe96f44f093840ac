"""FHIR R4 JSON on `fhir`: one vital-signs `Observation`, or a `Bundle` of them.

Decoded with msgspec structs for just the elements read here (fhir.resources would validate
the whole resource, far too slowly for a feed). Codes and units come from the code tables
(`ingest._codes`), which the simulated monitors send with too, so the two can never drift
apart.

What is read, and what is refused:

- Vitals by LOINC code (any `code.coding` with system `http://loinc.org`), the blood pressure
  panel 85354-9 by its components 8480-6 and 8462-4, or standalone 8480-6 / 8462-4; the
  inhaled oxygen flow 3151-8 (a component of the pulse-oximetry Observation, or on its own)
  as supplemental oxygen (`on_oxygen` true and `oxygen_flow_lpm`). Every component is read or
  listed in `ignored`.
- `valueQuantity` must be UCUM (`http://unitsofmeasure.org`) in the vital's unit, compared by
  meaning (`ingest._ucum`: `{Breaths}/min` is `/min`), never converted.
- `status` final, amended, corrected or preliminary is read; entered-in-error and cancelled
  Observations are listed in `ignored` (`status:cancelled:8867-4`); any other status refuses
  that Observation. A corrected or amended Observation is read and marked
  (`Observation.corrected`): the scorer has it replace the value it corrects. Its msg_id is
  the id's version, `{id}/_history/{meta.versionId}`, or without a versionId
  `{id}/_corrected/{digest of what was read}`, so a correction sent in place (same id, new
  version) is a new message, never a `conflict` with its original. `meta.tag` or
  `meta.security` HTEST (test health data) on the Bundle refuses the message (`test-data`);
  on an Observation, that Observation.
- Codes not mapped (mean BP 8478-0, body weight 29463-7, ...) are listed in `ignored`
  (`loinc:8478-0`), as are values with a `dataAbsentReason` (`absent:8867-4`) and resources
  other than Observations (`resource:Patient`).
- One unreadable Observation or value (wrong unit, outside every chart's plausibility limits
  such as a device's -100, no subject, no time, an unknown status) is refused on its own and
  listed in `ignored` (`refused:unit:8867-4: ...`); the others are read. The message is
  refused only when nothing in it can be scored (`ingest._device.nothing_to_score`).
- A vital given at several times (a continuous oximeter's Bundle of one reading a second) is
  a series: the latest is read, the earlier ones are listed (`earlier:...`); two different
  values at the same time are both refused; a diastolic of another time than the systolic is
  listed, never paired with it (`ingest._device.choose`).
- Every Observation's `subject` must be the same `Patient/{id}` (else `placement`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import msgspec

from ingest._codes import (
    BP_PANEL,
    LOINC,
    LOINC_SYSTEM,
    OXYGEN_FLOW,
    OXYGEN_FLOW_UNIT,
    UCUM,
    UCUM_SYSTEM,
)
from ingest._device import (
    Reading,
    choose,
    corrected,
    fresh,
    implausible,
    not_ahead,
    nothing_to_score,
    refused,
)
from ingest._model import Observation
from ingest._native import Refusal, check_msg_id, json_refusal, text_refusal
from ingest._ucum import same_unit
from scoring import AwareDatetime, ObservationSet, Vitals

_BY_LOINC: Final = {
    **{coding.code: key for key, codings in LOINC.items() for coding in codings},
    OXYGEN_FLOW.code: "oxygen_flow_lpm",
}
_UNIT: Final = {**UCUM, "oxygen_flow_lpm": OXYGEN_FLOW_UNIT}
_PANEL: Final = "panel"
_READ: Final = frozenset({"final", "amended", "corrected", "preliminary"})
_LEFT_OUT: Final = frozenset({"entered-in-error", "cancelled"})
_CORRECTION: Final = frozenset({"corrected", "amended"})
_TEST_DATA: Final = "HTEST"
"""v3 ActReason HTEST, "test health data", in `meta.tag` or `meta.security`."""
_PATIENT: Final = re.compile(r"(?:\S*/)?Patient/([A-Za-z0-9\-.]{1,64})")
"""`Patient/{id}`, relative or absolute (`https://fhir.example/Patient/{id}`)."""


class _Head(msgspec.Struct, rename="camel"):
    resource_type: Any = None


class _Coding(msgspec.Struct):
    system: str | None = None
    code: str | None = None


class _Concept(msgspec.Struct):
    coding: list[_Coding] = []


class _Meta(msgspec.Struct):
    tag: list[_Coding] = []
    security: list[_Coding] = []
    version_id: str | None = msgspec.field(default=None, name="versionId")


class _Versioned(msgspec.Struct):
    meta: _Meta | None = None


class _Quantity(msgspec.Struct):
    value: float | None = None
    system: str | None = None
    code: str | None = None


class _Reference(msgspec.Struct):
    reference: str | None = None


class _Identifier(msgspec.Struct):
    value: str | None = None


class _Component(msgspec.Struct, rename="camel"):
    code: _Concept
    value_quantity: _Quantity | None = None
    data_absent_reason: Any = None


class _Observation(msgspec.Struct, rename="camel"):
    status: str
    code: _Concept
    id: str | None = None
    meta: _Meta | None = None
    identifier: list[_Identifier] = []
    subject: _Reference | None = None
    effective_date_time: str | None = None
    effective_instant: str | None = None
    value_quantity: _Quantity | None = None
    data_absent_reason: Any = None
    component: list[_Component] = []


class _Entry(msgspec.Struct):
    resource: msgspec.Raw = msgspec.Raw()


class _Bundle(msgspec.Struct):
    id: str | None = None
    meta: _Meta | None = None
    identifier: _Identifier | None = None
    entry: list[_Entry] = []


_HEAD: Final = msgspec.json.Decoder(_Head)
_OBSERVATION: Final = msgspec.json.Decoder(_Observation)
_BUNDLE: Final = msgspec.json.Decoder(_Bundle)

_Part = tuple[str, str, "_Quantity | None", Any, str]
"""A value to read: vital, label, quantity, dataAbsentReason, where."""


def parse_fhir(
    payload: bytes,
    ward: str,
    bed: str,
    *,
    freshness: Mapping[str, float] | None = None,
    not_after: datetime | None = None,
) -> Observation:
    """A FHIR R4 Observation or Bundle of Observations as one observation set.

    msg_id is the Bundle's `identifier.value`, else its `id`; for a lone Observation its first
    `identifier.value`, else its `id`; it must be a valid msg_id (`ingest.msg_id_problem`). The
    set's time is the latest `effectiveDateTime` (or `effectiveInstant`, with an offset) of the
    readings read, as the set is complete only from that moment on; a reading older than that
    by more than its vital's `freshness` (seconds; `ingest.DEFAULT_FRESHNESS` unless given) is
    not read (`stale:` in `ignored`). A reading dated after `not_after` (when given) is
    refused alone (`time`).

    Raises:
        Refusal: `not-utf8`, `not-json`, `not-fhir`, `invalid`, `unit`, `implausible`,
            `test-data`, `placement` or `no-vitals`.
    """
    resources, msg_id, ignored = _resources(payload)
    readings: list[Reading] = []
    refusals: list[Refusal] = []
    patients: dict[str, str] = {}
    for where, raw in resources:
        try:
            observation = _observation(raw, where, msg_id)
        except Refusal as refusal:
            refusals.append(refusal)
            ignored.append(refused(refusal, where))
            continue
        code, label = _mapped(observation.code)
        bare = _bare(label)
        subject = observation.subject.reference if observation.subject else None
        if subject and (match := _PATIENT.fullmatch(subject)):
            patients.setdefault(match[1], where)  # every patient named, read or not
        if observation.status in _LEFT_OUT:
            ignored.append(f"status:{observation.status}:{bare}")
            continue
        try:
            parts = _parts(observation, code, label, where=where, msg_id=msg_id, ignored=ignored)
        except Refusal as refusal:
            refusals.append(refusal)
            ignored.append(refused(refusal, bare))
            continue
        values: list[tuple[str, float, str, str]] = []
        for key, part_label, quantity, absent, part_where in parts:
            try:
                value = _value(key, part_label, quantity, absent, where=part_where, msg_id=msg_id)
            except Refusal as refusal:
                refusals.append(refusal)
                ignored.append(refused(refusal, _bare(part_label)))
                continue
            if value is None:
                ignored.append(f"absent:{_bare(part_label)}")
                continue
            values.append((key, value, part_label, part_where))
        if not values:
            continue
        try:  # whose and when: asked only of an Observation with a value to read
            _patient(observation.subject, where, msg_id)
            when = _time(observation, where, msg_id)
        except Refusal as refusal:
            refusals.append(refusal)
            ignored.append(refused(refusal, bare))
            continue
        fix = observation.status in _CORRECTION
        readings.extend(
            Reading(k, v, when, lab, where=w, correction=fix) for k, v, lab, w in values
        )
    if len(patients) > 1:
        listed = ", ".join(f"Patient/{p} ({w})" for p, w in patients.items())
        msg = f"FHIR: the Observations are about different patients: {listed}; send one per message"
        raise Refusal("placement", msg, msg_id)
    readings, ahead, more_ignored = not_ahead(readings, not_after, msg_id)
    refusals.extend(ahead)
    ignored.extend(more_ignored)
    chosen, more, conflicts = choose(readings)
    ignored.extend(more)
    refusals.extend(Refusal("invalid", why, msg_id) for why in conflicts)
    chosen, stale = fresh(chosen, freshness)
    ignored.extend(stale)
    if not chosen:
        expected = (
            "expected an Observation with a LOINC code of "
            f"{', '.join(sorted(_BY_LOINC))} or the BP panel {BP_PANEL.code}"
        )
        raise nothing_to_score("FHIR", refusals, ignored, expected, msg_id)
    vitals: dict[str, Any] = {key: reading.value for key, reading in chosen.items()}
    if "oxygen_flow_lpm" in vitals:
        vitals["on_oxygen"] = True
    obs = ObservationSet(
        msg_id=msg_id,
        patient_id=next(iter(patients)),
        time=max(reading.time for reading in chosen.values()),
        vitals=msgspec.structs.replace(Vitals(), **vitals),
        source="monitor",
    )
    if fixed := corrected(chosen):
        obs = msgspec.structs.replace(obs, msg_id=correction_id(payload, obs))
    return Observation(
        ward=ward, bed=bed, channel="fhir", obs=obs, ignored=tuple(ignored), corrected=fixed
    )


def correction_id(payload: bytes, obs: ObservationSet) -> str:
    """The msg_id of a correction: its id's version, `{id}/_history/{meta.versionId}` (of the
    lone Observation or the Bundle), else `{id}/_corrected/{12 hex digits}` of a digest of
    what was read (patient, time, vitals). A FHIR server corrects an Observation in place,
    under the same id: the original's msg_id again with other content would be a `conflict`.
    The same correction sent again has the same msg_id (a repeat); another one a new one.

    Raises:
        Refusal: `invalid`, if the msg_id made is not a valid one (too long).
    """
    try:
        meta = msgspec.json.decode(payload, type=_Versioned).meta
    except msgspec.MsgspecError:  # read once already: cannot happen, but never crash
        meta = None
    version = meta.version_id if meta is not None else None
    if version:
        msg_id = f"{obs.msg_id}/_history/{version}"
    else:
        read = msgspec.json.encode([obs.patient_id, obs.time, obs.vitals], order="sorted")
        msg_id = f"{obs.msg_id}/_corrected/{hashlib.sha256(read).hexdigest()[:12]}"
    return _checked(msg_id)


def _parts(
    observation: _Observation,
    code: str | None,
    label: str,
    *,
    where: str,
    msg_id: str,
    ignored: list[str],
) -> list[_Part]:
    """The values of an Observation to read (its own, its components'); lists the rest.

    Raises:
        Refusal: the Observation is test data, or its status is not one that is read.
    """
    bare = _bare(label)
    if code is None:
        ignored.append(label)  # not a vital: its components go with it
        return []
    if _is_test(observation.meta):
        msg = (
            f"FHIR {where} ({bare}) is tagged HTEST (test health data) in meta: not a "
            "patient's reading"
        )
        raise Refusal("test-data", msg, msg_id)
    if observation.status not in _READ:
        msg = (
            f"FHIR {where}.status is {observation.status!r}; expected final, amended, "
            "corrected or preliminary (entered-in-error and cancelled are left out)"
        )
        raise Refusal("invalid", msg, msg_id)
    parts: list[_Part] = []
    if code == _PANEL:
        if not observation.component:
            ignored.append(label)  # a panel without components: nothing to read
    else:
        parts.append(
            (code, label, observation.value_quantity, observation.data_absent_reason, where)
        )
    for n, component in enumerate(observation.component):
        key, part_label = _mapped(component.code)
        if key is None or key == _PANEL:
            ignored.append(part_label)
            continue
        parts.append(
            (
                key,
                part_label,
                component.value_quantity,
                component.data_absent_reason,
                f"{where}.component[{n}]",
            )
        )
    return parts


def _value(
    key: str,
    label: str,
    quantity: _Quantity | None,
    absent: Any,
    *,
    where: str,
    msg_id: str,
) -> float | None:
    """A part's value, checked; None when a dataAbsentReason says why there is none.

    Raises:
        Refusal: `invalid` (no value), `unit` or `implausible`.
    """
    loinc = _bare(label)
    if quantity is None or quantity.value is None:
        if absent is not None:
            return None
        msg = f"FHIR {where} ({key}, LOINC {loinc}) has no valueQuantity.value"
        raise Refusal("invalid", msg, msg_id)
    _check_unit(key, loinc, quantity, where, msg_id)
    if why := implausible(key, quantity.value):
        raise Refusal("implausible", f"FHIR {where} ({key}, LOINC {loinc}): {why}", msg_id)
    return quantity.value


def _bare(label: str) -> str:
    return label.removeprefix("loinc:")


def _is_test(meta: _Meta | None) -> bool:
    return meta is not None and any(c.code == _TEST_DATA for c in (*meta.tag, *meta.security))


def _resources(payload: bytes) -> tuple[list[tuple[str, bytes | msgspec.Raw]], str, list[str]]:
    """The Observations to read, each with where it is (for messages), the msg_id, and the
    `ignored` entries of the Bundle's other resources."""
    if refusal := text_refusal(payload):  # msgspec skips unread strings without checking them
        raise refusal
    try:
        kind = _HEAD.decode(payload).resource_type
    except (msgspec.MsgspecError, ValueError):
        raise json_refusal(payload) or Refusal(
            "not-fhir", "not FHIR: expected a JSON object with resourceType Observation or Bundle"
        ) from None
    if kind == "Observation":
        try:
            lone = _OBSERVATION.decode(payload)
        except msgspec.MsgspecError as exc:
            raise Refusal("invalid", f"FHIR Observation: {exc}") from None
        msg_id = next((i.value for i in lone.identifier if i.value), None) or lone.id
        return [("Observation", payload)], _checked(msg_id), []
    if kind != "Bundle":
        msg = f"not FHIR for this topic: resourceType is {kind!r}; expected Observation or Bundle"
        raise Refusal("not-fhir", msg)
    try:
        bundle = _BUNDLE.decode(payload)
    except msgspec.MsgspecError as exc:
        raise Refusal("invalid", f"FHIR Bundle: {exc}") from None
    msg_id = _checked((bundle.identifier.value if bundle.identifier else None) or bundle.id)
    if _is_test(bundle.meta):
        msg = (
            "FHIR: the Bundle is tagged HTEST (test health data) in meta: not a patient's readings"
        )
        raise Refusal("test-data", msg, msg_id)
    resources: list[tuple[str, bytes | msgspec.Raw]] = []
    others: list[tuple[str, Any]] = []
    for n, entry in enumerate(bundle.entry):
        where = f"Bundle.entry[{n}].resource"
        if not entry.resource:
            raise Refusal("invalid", f"FHIR {where} is missing", msg_id)
        try:
            inner = _HEAD.decode(entry.resource).resource_type
        except msgspec.MsgspecError:
            inner = None
        if inner == "Observation":
            resources.append((where, entry.resource))
        else:
            others.append((where, inner))
    if others and not resources:
        where, inner = others[0]
        msg = f"FHIR {where} is a {inner!r}; only Observations are read from a Bundle"
        raise Refusal("not-fhir", msg, msg_id)
    return resources, msg_id, [f"resource:{inner}" for _, inner in others]


def _checked(msg_id: str | None) -> str:
    """The msg_id, if there is one and it is a valid one."""
    if not msg_id:
        msg = (
            "FHIR: no msg_id: expected Bundle.identifier.value or Bundle.id "
            "(Observation.identifier[0].value or Observation.id for a lone Observation)"
        )
        raise Refusal("invalid", msg)
    check_msg_id(msg_id, "FHIR msg_id (Bundle or lone Observation: identifier.value, else id)")
    return msg_id


def _observation(raw: bytes | msgspec.Raw, where: str, msg_id: str) -> _Observation:
    """One Observation, decoded; `invalid` naming where it is and the field."""
    try:
        return _OBSERVATION.decode(raw)
    except msgspec.MsgspecError as exc:
        raise Refusal("invalid", f"FHIR {where}: {exc}", msg_id) from None


def _mapped(concept: _Concept) -> tuple[str | None, str]:
    """The vital (or `panel`) a code maps to, if any, and a label for `ignored`."""
    label = None
    for coding in concept.coding:
        if coding.system != LOINC_SYSTEM or not coding.code:
            continue
        if coding.code == BP_PANEL.code:
            return _PANEL, f"loinc:{coding.code}"
        if key := _BY_LOINC.get(coding.code):
            return key, f"loinc:{coding.code}"
        label = label or f"loinc:{coding.code}"
    if label is None:
        first = concept.coding[0] if concept.coding else None
        label = f"code:{first.system}|{first.code}" if first else "code:none"
    return None, label


def _check_unit(key: str, loinc: str, quantity: _Quantity, where: str, msg_id: str) -> None:
    """`unit` unless the quantity is in the vital's UCUM unit."""
    expected = _UNIT[key]
    if quantity.system == UCUM_SYSTEM and same_unit(quantity.code, expected.code):
        return
    msg = (
        f"FHIR {where} ({key}, LOINC {loinc}): valueQuantity must be in UCUM "
        f"{expected.code!r} ({expected.unit}, system {UCUM_SYSTEM}; annotations such as "
        f"{{beats}} aside); got code {quantity.code!r}, system {quantity.system!r} (units are "
        "never converted)"
    )
    raise Refusal("unit", msg, msg_id)


def _patient(subject: _Reference | None, where: str, msg_id: str) -> str:
    """The patient id of `Patient/{id}`."""
    if subject is None:
        msg = f"FHIR {where}.subject is missing; expected a reference Patient/{{id}}"
        raise Refusal("invalid", msg, msg_id)
    match = _PATIENT.fullmatch(subject.reference or "")
    if match is None:
        msg = f"FHIR {where}.subject.reference is {subject.reference!r}; expected Patient/{{id}}"
        raise Refusal("invalid", msg, msg_id)
    return match[1]


@functools.lru_cache(maxsize=256)
def _read_time(text: str) -> datetime | None:
    """A time with its offset, remembered (a Bundle's Observations mostly share one); None
    when `_time` refuses it (and says why)."""
    try:
        return msgspec.convert(text, AwareDatetime)
    except msgspec.ValidationError:
        return None


def _time(observation: _Observation, where: str, msg_id: str) -> datetime:
    """When the Observation was made: effectiveDateTime (or effectiveInstant), with offset."""
    text = observation.effective_date_time or observation.effective_instant
    if text is None:
        msg = f"FHIR {where}.effectiveDateTime is missing; expected a date and time with offset"
        raise Refusal("invalid", msg, msg_id)
    if (when := _read_time(text)) is not None:
        return when
    try:
        return msgspec.convert(text, AwareDatetime)
    except msgspec.ValidationError as exc:
        msg = (
            f"FHIR {where}.effectiveDateTime {text!r}: {exc}; expected a date, time and offset "
            "such as 2026-11-22T09:30:00Z"
        )
        raise Refusal("invalid", msg, msg_id) from None
