"""A score result (CONTRACT §4) as a FHIR R4 `Observation`, for the patient record: pure, no
I/O, no clock (the same result always gives the same resource, so a retried PUT is idempotent).

Codes and where they come from:

| what | code | source |
|---|---|---|
| NEWS2 total | SNOMED CT 1104051000000101 "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score" | UK Core example `UKCore-Bundle-NEWS2Observations-Example` |
| NEWS2 sub-scores | SNOMED CT 1104301000000104 (RR), 1104311000000102 / 1104321000000108 (SpO2 scale 1 / 2), 1104331000000105 (air or oxygen), 1104341000000101 (systolic BP), 1104351000000103 (pulse), 1104361000000100 (consciousness), 1104371000000107 (temperature) | UK Core value set `UKCore-EarlyWarningSubScore` |
| PEWS total | SNOMED CT 1363261000000104 (National PEWS score) | the issue; not checked against a published example |
| PEWS sub-scores | SNOMED CT 1363271000000106 (RR), 1363301000000109 (respiratory distress), 1363321000000100 (inspired oxygen), 1363331000000103 (heart rate), 1363351000000105 (consciousness), 1363361000000108 (temperature) | `UKCore-EarlyWarningSubScore` |
| every other sub-score (PEWS SpO2, BP, CRT; every maternity item) and the maternity total | our local code system (`LOCAL_PARAMETER_SYSTEM`, code = the CONTRACT §3 key; `LOCAL_SCORE_SYSTEM`, code = the score system) | no national code found |

Each component also carries the local coding, so a receiver can always map by our key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

SNOMED: Final = "http://snomed.info/sct"
LOCAL_BASE: Final = "urn:ward-surveillance:fhir"
"""Our local code systems and identifier systems: URNs, since no web address is ours to give."""
LOCAL_SCORE_SYSTEM: Final = f"{LOCAL_BASE}:CodeSystem:score"
LOCAL_PARAMETER_SYSTEM: Final = f"{LOCAL_BASE}:CodeSystem:score-parameter"
LOCAL_RISK_SYSTEM: Final = f"{LOCAL_BASE}:CodeSystem:risk"
LOCAL_CHART_SYSTEM: Final = f"{LOCAL_BASE}:CodeSystem:chart"
SCORE_ID_SYSTEM: Final = f"{LOCAL_BASE}:Id:score"
OBS_ID_SYSTEM: Final = f"{LOCAL_BASE}:Id:obs-msg-id"
PATIENT_ID_SYSTEM: Final = f"{LOCAL_BASE}:Id:patient-id"
NHS_NUMBER_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
CATEGORY_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ABSENT_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

TOTALS: Final[Mapping[str, tuple[str, str]]] = {
    "NEWS2": (
        "1104051000000101",
        "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
    ),
    "PEWS": ("1363261000000104", "National Paediatric Early Warning Score"),
}
"""SNOMED CT codes of the totals; a system not here (the maternity score) takes a local code."""

_N2: Final = "Royal College of Physicians National Early Warning Score 2 - "
_PEWS: Final = "National Paediatric Early Warning Score "
SUB_SCORES: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("NEWS2", "resp_rate"): ("1104301000000104", _N2 + "respiration rate score"),
    ("NEWS2", "spo2:1"): ("1104311000000102", _N2 + "oxygen saturation scale 1 score"),
    ("NEWS2", "spo2:2"): ("1104321000000108", _N2 + "oxygen saturation scale 2 score"),
    ("NEWS2", "air_or_oxygen"): ("1104331000000105", _N2 + "air or oxygen score"),
    ("NEWS2", "systolic_bp"): ("1104341000000101", _N2 + "systolic blood pressure score"),
    ("NEWS2", "heart_rate"): ("1104351000000103", _N2 + "pulse score"),
    ("NEWS2", "consciousness"): ("1104361000000100", _N2 + "consciousness score"),
    ("NEWS2", "temperature"): ("1104371000000107", _N2 + "temperature score"),
    ("PEWS", "resp_rate"): ("1363271000000106", _PEWS + "respiration rate score"),
    ("PEWS", "resp_distress"): ("1363301000000109", _PEWS + "respiratory distress score"),
    ("PEWS", "oxygen"): ("1363321000000100", _PEWS + "inspired oxygen score"),
    ("PEWS", "heart_rate"): ("1363331000000103", _PEWS + "heart rate score"),
    ("PEWS", "consciousness"): ("1363351000000105", _PEWS + "consciousness score"),
    ("PEWS", "temperature"): ("1363361000000108", _PEWS + "temperature score"),
}
"""SNOMED CT codes of the sub-scores (UK Core `UKCore-EarlyWarningSubScore`), by score system
and CONTRACT §3 key (NEWS2's SpO2 by scale)."""

FLAGS: Final = ("N", "HIGH", "EXTHIGH")
_INTERPRETATION: Final = {
    "N": ("N", "Normal"),
    "HIGH": ("H", "High"),
    "EXTHIGH": ("HH", "Critical high"),
}


def send_flag(result: Mapping[str, Any]) -> str:
    """The SEND convention's abnormal flag of a score: `N`, `HIGH` or `EXTHIGH`.

    SEND (the Oxford e-obs system, polaris-foundation/dhos-scoring-engine,
    `src/news2/rule_definitions/overall-obx-parameters.ts` and the maternity one): NEWS2 `N`
    when the total is 0-4 and no parameter scores 3, `HIGH` at 5-6 or any 3, `EXTHIGH` at 7 or
    more; the maternity chart `N` at 0, `HIGH` at 1-6, `EXTHIGH` at 7 or more. SEND has no
    PEWS: ours follows its escalation level (`none` N; `low`, `medium` HIGH; `high`,
    `emergency` EXTHIGH). A system SEND does not know falls back on the risk the same way.
    """
    system, total = result.get("system"), int(result.get("total") or 0)
    parameters = result.get("parameters") or {}
    if system == "NEWS2":
        if total >= 7:
            return "EXTHIGH"
        if total >= 5 or any(points == 3 for points in parameters.values()):
            return "HIGH"
        return "N"
    if system == "MEWS":
        return "EXTHIGH" if total >= 7 else "HIGH" if total >= 1 else "N"
    risk = result.get("risk")
    if risk in ("high", "emergency"):
        return "EXTHIGH"
    return "N" if risk in (None, "", "none") else "HIGH"


def reference_range(result: Mapping[str, Any]) -> str:
    """SEND's OBX-7 reference range: NEWS2 `0-4`, the maternity chart `0`; else empty."""
    return {"NEWS2": "0-4", "MEWS": "0"}.get(str(result.get("system")), "")


def score_key(result: Mapping[str, Any]) -> str:
    """A stable key of one score: the same patient, observation and score system give the same
    key (every retry and every restart), anything else another. 40 hex digits."""
    text = "\x1f".join(
        str(result.get(name) or "") for name in ("patient_id", "obs_msg_id", "system")
    )
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def corrected_score(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """For a correction's result (one that names in `corrects` the observations whose readings
    it replaced), the result it corrects as far as the record knows it: the same patient and
    system, the first observation corrected. `None` for every other result."""
    corrects = result.get("corrects")
    if not isinstance(corrects, list) or not corrects or not isinstance(corrects[0], str):
        return None
    return {**result, "obs_msg_id": corrects[0]}


def score_resource_id(result: Mapping[str, Any]) -> str:
    """The Observation's logical id (FHIR: 1-64 of `A-Za-z0-9-.`): `{system}-{score_key}`."""
    system = "".join(c for c in str(result.get("system") or "score") if c.isalnum())[:16]
    return f"{system.lower() or 'score'}-{score_key(result)}"


def is_nhs_number(text: str) -> bool:
    """Ten digits whose last is the Modulus 11 check digit of the first nine (NHS Data
    Dictionary); spaces are not allowed here (the patient id is what the PAS sent)."""
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(text[:9], range(10, 1, -1), strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    return check != 10 and check == int(text[9])


def score_observation(
    result: Mapping[str, Any],
    *,
    patient_system: str = PATIENT_ID_SYSTEM,
    nhs_number: bool = False,
) -> dict[str, Any]:
    """The FHIR R4 `Observation` of a score result (CONTRACT §4 and its extensions).

    - `id` is `score_resource_id` (stable), `identifier` the same key in `SCORE_ID_SYSTEM`;
    - `status` `final`, or `preliminary` when the score is incomplete (`complete: false`): a
      receiver must never chart a total that lacks parameters as a final one; the missing
      parameters are components with a `dataAbsentReason` and are named in a `note`;
    - `category` `survey` (as the UK Core NEWS2 example), `code` as `TOTALS` (else local),
      `method` the exact chart used (local code, e.g. `pews-nhse-2023-1-4y`);
    - `subject` a logical reference by identifier: the NHS number system when `nhs_number` is
      set and the id passes the NHS number check, else `patient_system`;
    - `effectiveDateTime` the score's time, `valueInteger` the total, `interpretation` the SEND
      flag as v3 N / H / HH with the risk as text and a local coding;
    - `component` one per sub-score (`valueInteger`), SNOMED CT where there is a code (see the
      module), always with the local coding of the CONTRACT §3 key;
    - `derivedFrom` the observation set scored, by its `msg_id` (`OBS_ID_SYSTEM`).
    """
    system = str(result.get("system") or "")
    patient = str(result.get("patient_id") or "")
    if nhs_number and is_nhs_number(patient):
        patient_system = NHS_NUMBER_SYSTEM
    complete = bool(result.get("complete", True))
    parameters: Mapping[str, Any] = result.get("parameters") or {}
    missing: Sequence[str] = result.get("missing") or []
    total_code = TOTALS.get(system)
    coding = [{"system": LOCAL_SCORE_SYSTEM, "code": system or "unknown", "display": system}]
    if total_code is not None:
        coding.insert(0, {"system": SNOMED, "code": total_code[0], "display": total_code[1]})
    flag = send_flag(result)
    code, display = _INTERPRETATION[flag]
    risk = str(result.get("risk") or "")
    # A correction replaces, on the record too, the Observation of the score it corrects.
    corrected = corrected_score(result)
    same = corrected if corrected is not None else result
    final = "final" if corrected is None else "corrected"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": score_resource_id(same),
        "identifier": [{"system": SCORE_ID_SYSTEM, "value": score_key(same)}],
        "status": final if complete else "preliminary",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}
        ],
        "code": {"coding": coding, "text": f"{system} total score"},
        "subject": {"identifier": {"system": patient_system, "value": patient}},
        "effectiveDateTime": str(result.get("time")),
        "valueInteger": int(result.get("total") or 0),
        "interpretation": [
            {
                "coding": [
                    {"system": INTERPRETATION_SYSTEM, "code": code, "display": display},
                    {"system": LOCAL_RISK_SYSTEM, "code": risk or "unknown"},
                ],
                "text": f"{risk} risk ({flag})" if risk else flag,
            }
        ],
        "method": {
            "coding": [{"system": LOCAL_CHART_SYSTEM, "code": str(result.get("chart") or "")}]
        },
        "component": [
            _component(system, key, points, result.get("spo2_scale"))
            for key, points in parameters.items()
        ]
        + [_absent(system, key, result.get("spo2_scale")) for key in missing],
    }
    obs_msg_id = result.get("obs_msg_id")
    if obs_msg_id:
        resource["derivedFrom"] = [
            {
                "type": "Observation",
                "identifier": {"system": OBS_ID_SYSTEM, "value": str(obs_msg_id)},
            }
        ]
    notes = []
    if corrected is not None:
        notes.append(
            {
                "text": (
                    f"Corrected: observation {obs_msg_id} corrects the readings of observation "
                    f"{corrected['obs_msg_id']}; this score replaces the one made from them."
                )
            }
        )
    if not complete:
        notes.append(
            {
                "text": (
                    f"Incomplete {system} score: {', '.join(missing) or 'parameters'} missing; "
                    "the total counts only the parameters present."
                )
            }
        )
    if notes:
        resource["note"] = notes
    if not resource["component"]:
        del resource["component"]
    return resource


def _concept(system: str, key: str, scale: object) -> dict[str, Any]:
    lookup = f"spo2:{scale or 1}" if system == "NEWS2" and key == "spo2" else key
    coding = [{"system": LOCAL_PARAMETER_SYSTEM, "code": key}]
    found = SUB_SCORES.get((system, lookup))
    if found is not None:
        coding.insert(0, {"system": SNOMED, "code": found[0], "display": found[1]})
    return {"coding": coding, "text": f"{system} {key} score"}


def _component(system: str, key: str, points: object, scale: object) -> dict[str, Any]:
    if isinstance(points, bool) or not isinstance(points, int):
        return _absent(system, key, scale)
    return {"code": _concept(system, key, scale), "valueInteger": points}


def _absent(system: str, key: str, scale: object) -> dict[str, Any]:
    return {
        "code": _concept(system, key, scale),
        "dataAbsentReason": {
            "coding": [
                {"system": ABSENT_SYSTEM, "code": "not-performed", "display": "Not Performed"}
            ]
        },
    }
