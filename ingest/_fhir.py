"""FHIR R4 JSON on `fhir`: one vital-signs `Observation`, or a `Bundle` of them.

Decoded with msgspec structs for just the elements read here (fhir.resources would validate
the whole resource, far too slowly for a feed). Codes and units come from the code tables
(`ingest._codes`), which the simulated monitors send with too, so the two can never drift
apart.

What is read, and what is refused:

- Vitals by LOINC code (any `code.coding` with system `http://loinc.org`), the blood pressure
  panel 85354-9 by its components 8480-6 and 8462-4, or standalone 8480-6 / 8462-4.
- `valueQuantity` must be UCUM (`http://unitsofmeasure.org`) in the vital's own unit, else
  `unit`: a value is never converted.
- `status` final, amended, corrected or preliminary is read; entered-in-error and cancelled
  Observations are left out and listed in `Observation.ignored` (`status:cancelled:8867-4`).
- Codes not mapped (mean BP 8478-0, body weight 29463-7, ...) are not an error: they are listed
  in `ignored` (`loinc:8478-0`), as are values with a `dataAbsentReason` (`absent:8867-4`).
- Every Observation's `subject` must be the same `Patient/{id}` (else `placement`).
- A vital given twice with different values is refused (`invalid`): which one is right cannot be
  told from the message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import msgspec

from ingest._codes import BP_PANEL, LOINC, LOINC_SYSTEM, UCUM, UCUM_SYSTEM
from ingest._model import Observation
from ingest._native import Refusal, check_msg_id, json_refusal, shortlist, text_refusal
from scoring import AwareDatetime, ObservationSet, Vitals

_BY_LOINC: Final = {coding.code: key for key, codings in LOINC.items() for coding in codings}
_PANEL: Final = "panel"
_READ: Final = frozenset({"final", "amended", "corrected", "preliminary"})
_LEFT_OUT: Final = frozenset({"entered-in-error", "cancelled"})
_PATIENT: Final = re.compile(r"(?:\S*/)?Patient/([A-Za-z0-9\-.]{1,64})")
"""`Patient/{id}`, relative or absolute (`https://fhir.example/Patient/{id}`)."""


class _Head(msgspec.Struct, rename="camel"):
    resource_type: Any = None


class _Coding(msgspec.Struct):
    system: str | None = None
    code: str | None = None


class _Concept(msgspec.Struct):
    coding: list[_Coding] = []


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
    identifier: _Identifier | None = None
    entry: list[_Entry] = []


_HEAD: Final = msgspec.json.Decoder(_Head)
_OBSERVATION: Final = msgspec.json.Decoder(_Observation)
_BUNDLE: Final = msgspec.json.Decoder(_Bundle)


def parse_fhir(payload: bytes, ward: str, bed: str) -> Observation:
    """A FHIR R4 Observation or Bundle of Observations as one observation set.

    msg_id is the Bundle's `identifier.value`, else its `id`; for a lone Observation its first
    `identifier.value`, else its `id`; it must be a valid msg_id (`ingest.msg_id_problem`). The set's time is the Observations' `effectiveDateTime`
    (or `effectiveInstant`), which must carry an offset; when the Observations' times differ the
    latest is used, as the set is then complete only from that moment on.

    Raises:
        Refusal: `not-utf8`, `not-json`, `not-fhir`, `invalid`, `unit`, `placement` or
            `no-vitals`.
    """
    resources, msg_id = _resources(payload)
    if not msg_id:
        msg = (
            "FHIR: no msg_id: expected Bundle.identifier.value or Bundle.id "
            "(Observation.identifier[0].value or Observation.id for a lone Observation)"
        )
        raise Refusal("invalid", msg)
    check_msg_id(msg_id, "FHIR msg_id (Bundle or lone Observation: identifier.value, else id)")
    vitals: dict[str, float] = {}
    ignored: list[str] = []
    times: list[datetime] = []
    patients: dict[str, str] = {}
    for where, raw in resources:
        observation = _observation(raw, where, msg_id)
        code, label = _mapped(observation.code)
        if observation.status in _LEFT_OUT:
            ignored.append(f"status:{observation.status}:{label.removeprefix('loinc:')}")
            continue
        if observation.status not in _READ:
            msg = (
                f"FHIR {where}.status is {observation.status!r}; expected final, amended, "
                "corrected or preliminary (entered-in-error and cancelled are left out)"
            )
            raise Refusal("invalid", msg, msg_id)
        if observation.subject is not None:
            patients.setdefault(_patient(observation.subject, where, msg_id), where)
        if code == _PANEL and not observation.component:
            ignored.append(label)  # a panel without components: nothing to read
        if code == _PANEL:
            parts = [
                (
                    *_mapped(c.code),
                    c.value_quantity,
                    c.data_absent_reason,
                    f"{where}.component[{n}]",
                )
                for n, c in enumerate(observation.component)
            ]
        else:
            parts = [
                (code, label, observation.value_quantity, observation.data_absent_reason, where)
            ]
        read = False
        for key, part_label, quantity, absent, part_where in parts:
            if key is None or key == _PANEL:
                ignored.append(part_label)
                continue
            loinc = part_label.removeprefix("loinc:")
            if quantity is None or quantity.value is None:
                if absent is not None:
                    ignored.append(f"absent:{loinc}")
                    continue
                msg = f"FHIR {part_where} ({key}, LOINC {loinc}) has no valueQuantity.value"
                raise Refusal("invalid", msg, msg_id)
            _check_unit(key, loinc, quantity, part_where, msg_id)
            if key in vitals and vitals[key] != quantity.value:
                msg = (
                    f"FHIR {part_where}: {key} (LOINC {loinc}) is given twice with different "
                    f"values ({vitals[key]:g} and {quantity.value:g}); send one"
                )
                raise Refusal("invalid", msg, msg_id)
            vitals[key] = quantity.value
            read = True
        if read:
            if observation.subject is None:
                msg = f"FHIR {where}.subject is missing; expected a reference Patient/{{id}}"
                raise Refusal("invalid", msg, msg_id)
            times.append(_time(observation, where, msg_id))
    if len(patients) > 1:
        listed = ", ".join(f"Patient/{p} ({w})" for p, w in patients.items())
        msg = f"FHIR: the Observations are about different patients: {listed}; send one per message"
        raise Refusal("placement", msg, msg_id)
    if not vitals:
        found = f" (found only: {shortlist(ignored)})" if ignored else ""
        msg = (
            "FHIR: no vital sign this system reads; expected an Observation with a LOINC code "
            f"of {', '.join(sorted(_BY_LOINC))} or the BP panel {BP_PANEL.code}{found}"
        )
        raise Refusal("no-vitals", msg, msg_id)
    obs = ObservationSet(
        msg_id=msg_id,
        patient_id=next(iter(patients)),
        time=max(times),
        vitals=msgspec.structs.replace(Vitals(), **vitals),
        source="monitor",
    )
    return Observation(ward=ward, bed=bed, channel="fhir", obs=obs, ignored=tuple(ignored))


def _resources(payload: bytes) -> tuple[list[tuple[str, bytes | msgspec.Raw]], str | None]:
    """The Observations to read, each with where it is (for messages), and the msg_id."""
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
        return [("Observation", payload)], msg_id
    if kind == "Bundle":
        try:
            bundle = _BUNDLE.decode(payload)
        except msgspec.MsgspecError as exc:
            raise Refusal("invalid", f"FHIR Bundle: {exc}") from None
        msg_id = (bundle.identifier.value if bundle.identifier else None) or bundle.id
        resources: list[tuple[str, bytes | msgspec.Raw]] = []
        for n, entry in enumerate(bundle.entry):
            where = f"Bundle.entry[{n}].resource"
            if not entry.resource:
                raise Refusal("invalid", f"FHIR {where} is missing", msg_id)
            try:
                inner = _HEAD.decode(entry.resource).resource_type
            except msgspec.MsgspecError:
                inner = None
            if inner != "Observation":
                msg = f"FHIR {where} is a {inner!r}; only Observations are read from a Bundle"
                raise Refusal("not-fhir", msg, msg_id)
            resources.append((where, entry.resource))
        return resources, msg_id
    msg = f"not FHIR for this topic: resourceType is {kind!r}; expected Observation or Bundle"
    raise Refusal("not-fhir", msg)


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
    expected = UCUM[key]
    if quantity.system == UCUM_SYSTEM and quantity.code == expected.code:
        return
    msg = (
        f"FHIR {where} ({key}, LOINC {loinc}): valueQuantity must be in UCUM "
        f"{expected.code!r} ({expected.unit}, system {UCUM_SYSTEM}); got code "
        f"{quantity.code!r}, system {quantity.system!r} (units are never converted)"
    )
    raise Refusal("unit", msg, msg_id)


def _patient(subject: _Reference, where: str, msg_id: str) -> str:
    """The patient id of `Patient/{id}`."""
    match = _PATIENT.fullmatch(subject.reference or "")
    if match is None:
        msg = f"FHIR {where}.subject.reference is {subject.reference!r}; expected Patient/{{id}}"
        raise Refusal("invalid", msg, msg_id)
    return match[1]


def _time(observation: _Observation, where: str, msg_id: str) -> datetime:
    """When the Observation was made: effectiveDateTime (or effectiveInstant), with offset."""
    text = observation.effective_date_time or observation.effective_instant
    if text is None:
        msg = f"FHIR {where}.effectiveDateTime is missing; expected a date and time with offset"
        raise Refusal("invalid", msg, msg_id)
    try:
        return msgspec.convert(text, AwareDatetime)
    except msgspec.ValidationError as exc:
        msg = (
            f"FHIR {where}.effectiveDateTime {text!r}: {exc}; expected a date, time and offset "
            "such as 2026-11-22T09:30:00Z"
        )
        raise Refusal("invalid", msg, msg_id) from None
