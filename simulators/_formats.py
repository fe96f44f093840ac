"""An observation set as a FHIR R4 Bundle or an HL7 v2 ORU^R01: what devices on the ward send.

Pure and deterministic: the same set gives the same bytes. Only the numeric vitals below are
carried; every other key of the set (oxygen, consciousness, ...) has no place in these formats
and is left out, as it would be by a real monitor. A vital the set does not have is absent.

The codes and units are `ingest`'s code tables (`LOINC`, `UCUM`, `MDC`), which its parsers
read too; the table of them is in `ingest/_codes.py`. The ORU^R01 layout follows IHE PCD TF-2
PCD-01 (MSH-21 `IHE_PCD_001`, OBR-4 182777000 "monitoring of patient", OBX-18 equipment).

FHIR: one `collection` Bundle per set, `id` = msg_id (so msg_id must be a valid FHIR id), msg_id
also in `Bundle.identifier`; one Observation per vital (systolic and diastolic as one BP panel),
identified `{msg_id}-{n}`. HL7: MSH-10 = msg_id, PID-3 = patient id, PV1-3 = `ward^^bed`, one OBX
per vital, times as `YYYYMMDDHHMMSS+ZZZZ` (sub-second precision is dropped).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

from ingest import BP_PANEL, LOINC, LOINC_SYSTEM, MDC, UCUM, UCUM_SYSTEM, Loinc
from scoring import ObservationSet, Vitals

VITAL_SIGNS: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "vital-signs",
    "display": "Vital Signs",
}
"""The Observation category coding of every Observation here."""
IDENTIFIER_SYSTEM: Final = "urn:ward-surveillance:msg-id"
"""`Identifier.system` of the Bundle (msg_id) and of its Observations (`{msg_id}-{n}`)."""

PCD01_PROFILE: Final = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
"""MSH-21 message profile of IHE PCD-01 (PCD TF-2)."""
MONITORING_OF_PATIENT: Final = "182777000^monitoring of patient^SCT"
"""OBR-4 universal service identifier of a PCD-01 observation report."""

_GROUPS: Final = (
    ("resp_rate",),
    ("spo2",),
    ("systolic_bp", "diastolic_bp"),
    ("heart_rate",),
    ("temperature",),
)
"""One FHIR Observation per group, in this order; the BP pair is one panel."""
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def fhir_bundle(obs: ObservationSet, *, device_id: str) -> bytes:
    """A FHIR R4 `collection` Bundle of one vital-signs Observation per vital present.

    Args:
        obs: the observation set.
        device_id: the sending device, referenced as `Device/{device_id}`.

    Returns:
        Compact JSON (UTF-8), keys in a fixed order.

    Raises:
        ValueError: msg_id is not a FHIR id (`[A-Za-z0-9-.]{1,64}`), or a value is not finite.
    """
    if not _FHIR_ID.fullmatch(obs.msg_id):
        msg = f"msg_id {obs.msg_id!r} is not a valid FHIR id ([A-Za-z0-9-.], 1–64 characters)"
        raise ValueError(msg)
    when = _rfc3339(obs.time)
    present = _present(obs.vitals)
    entries: list[dict[str, Any]] = []
    for keys in _GROUPS:
        if values := {key: present[key] for key in keys if key in present}:
            resource = _observation(
                keys,
                values,
                identifier=f"{obs.msg_id}-{len(entries) + 1}",
                patient_id=obs.patient_id,
                when=when,
                device_id=device_id,
            )
            entries.append({"resource": resource})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": obs.msg_id,
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": obs.msg_id},
        "type": "collection",
        "timestamp": when,
    }
    if entries:  # FHIR JSON allows no empty arrays
        bundle["entry"] = entries
    return msgspec.json.encode(bundle)


def _observation(
    keys: tuple[str, ...],
    values: dict[str, float],
    *,
    identifier: str,
    patient_id: str,
    when: str,
    device_id: str,
) -> dict[str, Any]:
    """One vital-signs Observation: a single vital, or the BP panel with a component each."""
    panel = len(keys) > 1
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": identifier}],
        "status": "final",
        "category": [{"coding": [VITAL_SIGNS]}],
        "code": _concept((BP_PANEL,) if panel else LOINC[keys[0]]),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
    }
    if not panel:
        resource["valueQuantity"] = _quantity(keys[0], values[keys[0]])
    resource["device"] = {"reference": f"Device/{device_id}"}
    if panel:
        resource["component"] = [
            {"code": _concept(LOINC[key]), "valueQuantity": _quantity(key, value)}
            for key, value in values.items()
        ]
    return resource


def hl7v2_oru(obs: ObservationSet, *, ward: str, bed: str, device_id: str) -> bytes:
    """An HL7 v2.6 ORU^R01 as an IHE PCD-01 device observation reporter sends it.

    Args:
        obs: the observation set.
        ward: the ward, PV1-3.1 (point of care).
        bed: the bed, PV1-3.3.
        device_id: the sending device, MSH-3 and OBX-18.

    Returns:
        ER7 text in ASCII, every segment ended by `\\r` (no MLLP framing).

    Raises:
        ValueError: a text field holds a non-ASCII character, or a value is not finite.
    """
    ts = _hl7_ts(obs.time)
    device = _escape(device_id)
    msg_id = _escape(obs.msg_id)
    msh = {
        2: "^~\\&",
        3: device,  # sending application: the device
        7: ts,
        9: "ORU^R01^ORU_R01",
        10: msg_id,  # message control id
        11: "P",
        12: "2.6",
        15: "AL",  # accept acknowledgement: always (PCD-01)
        16: "NE",  # application acknowledgement: never (PCD-01)
        21: PCD01_PROFILE,
    }
    segments = [
        _segment("MSH", msh),
        _segment("PID", {3: _escape(obs.patient_id)}),
        _segment("PV1", {2: "I", 3: f"{_escape(ward)}^^{_escape(bed)}"}),
        _segment("OBR", {1: "1", 3: msg_id, 4: MONITORING_OF_PATIENT, 7: ts}),
    ]
    for n, (key, value) in enumerate(_present(obs.vitals).items(), start=1):
        mdc = MDC[key]
        obx = {
            1: str(n),
            2: "NM",
            3: f"{mdc.code}^{mdc.ref_id}^MDC",
            4: f"1.0.0.{n}",  # sub-id: MDS.VMD.channel.metric
            5: _nm(value),
            6: f"{mdc.unit_code}^{mdc.unit_ref_id}^MDC",
            11: "F",  # final result
            14: ts,
            18: device,  # equipment instance identifier
        }
        segments.append(_segment("OBX", obx))
    return "".join(f"{segment}\r" for segment in segments).encode("ascii")


def _segment(name: str, fields: dict[int, str]) -> str:
    """An ER7 segment from its numbered fields; MSH is numbered from 2 (MSH-1 is the `|`)."""
    first = 2 if name == "MSH" else 1
    return "|".join([name, *(fields.get(i, "") for i in range(first, max(fields) + 1))])


def _present(vitals: Vitals) -> dict[str, float]:
    """The mapped vitals the set has, in table order; refuses NaN and infinities."""
    present: dict[str, float] = {}
    for key in MDC:
        value = getattr(vitals, key)
        if value is None:
            continue
        value = float(value)  # a set built in Python may hold ints
        if not math.isfinite(value):
            msg = f"{key} is {value!r}; only finite values can be sent"
            raise ValueError(msg)
        present[key] = value
    return present


def _concept(codings: tuple[Loinc, ...]) -> dict[str, Any]:
    """A CodeableConcept of LOINC codings, its text the first display."""
    return {
        "coding": [{"system": LOINC_SYSTEM, "code": c.code, "display": c.display} for c in codings],
        "text": codings[0].display,
    }


def _quantity(key: str, value: float) -> dict[str, Any]:
    """A valueQuantity in the vital's UCUM unit; whole numbers are written without `.0`."""
    ucum = UCUM[key]
    number: int | float = int(value) if value.is_integer() else value
    return {"value": number, "unit": ucum.unit, "system": UCUM_SYSTEM, "code": ucum.code}


def _nm(value: float) -> str:
    """An HL7 NM: the shortest decimal that reads back as the same float, never an exponent."""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _rfc3339(moment: datetime) -> str:
    """RFC 3339 with offset, UTC written `Z` as the contract does."""
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _hl7_ts(moment: datetime) -> str:
    """An HL7 DTM to the second with its offset, `20261122093000+0000`."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def _escape(text: str) -> str:
    """Free text with the HL7 delimiters, CR and LF written as escape sequences."""
    if not text.isascii():
        msg = f"{text!r} is not ASCII; the HL7 v2 feed is ASCII"
        raise ValueError(msg)
    text = text.replace("\\", "\\E\\")
    for char, sequence in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        text = text.replace(char, f"\\{sequence}\\")
    return text.replace("\r", "\\X0D\\").replace("\n", "\\X0A\\")
