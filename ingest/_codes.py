"""The code tables of the FHIR R4 and HL7 v2 inputs: which code and unit carries each vital.

One table for both sides of the contract: the ingest parsers read it, the simulators' devices
write with it. Data only: no I/O.

Mapping (the simulators emit these; the parsers read them, and `MDC_ALSO` too):

| Vitals key     | FHIR code (LOINC)                | UCUM     | HL7 OBX-3 (MDC)                   | OBX-6 (MDC)                 |
|----------------|----------------------------------|----------|-----------------------------------|-----------------------------|
| `resp_rate`    | 9279-1                           | `/min`   | 151562 MDC_RESP_RATE              | 264928 MDC_DIM_RESP_PER_MIN |
| `spo2`         | 59408-5, also 2708-6             | `%`      | 150456 MDC_PULS_OXIM_SAT_O2       | 262688 MDC_DIM_PERCENT      |
| `systolic_bp`  | 85354-9 panel, component 8480-6  | `mm[Hg]` | 150021 MDC_PRESS_BLD_NONINV_SYS   | 266016 MDC_DIM_MMHG         |
| `diastolic_bp` | 85354-9 panel, component 8462-4  | `mm[Hg]` | 150022 MDC_PRESS_BLD_NONINV_DIA   | 266016 MDC_DIM_MMHG         |
| `heart_rate`   | 8867-4                           | `/min`   | 147842 MDC_ECG_HEART_RATE         | 264864 MDC_DIM_BEAT_PER_MIN |
| `temperature`  | 8310-5                           | `Cel`    | 150364 MDC_TEMP_BODY              | 268192 MDC_DIM_DEGC         |

Ingest also accepts (never emitted by the simulators): 149530 MDC_PULS_OXIM_PULS_RATE for
`heart_rate` and 151578 MDC_TTHOR_RESP_RATE for `resp_rate` (`MDC_ALSO`); either SpO2 LOINC code
on its own.

Sources: LOINC codes from the FHIR R4 vital signs value set (observation-vitalsignresult) and the
US Core pulse oximetry profile (2708-6 with 59408-5); MDC codes from IEEE 11073-10101 as quoted by
the HL7 Personal Health Device and Point-of-Care Device FHIR IGs (150020/150021/150022 BP,
149530 pulse rate, 147842 ECG heart rate, MDC_DIM_* units value set) and by IHE PCD-01 example
messages (GE B40 manual, Continua/PCD test messages).
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Loinc(NamedTuple):
    """A LOINC concept: code and display."""

    code: str
    display: str


class Ucum(NamedTuple):
    """A UCUM unit: the code and its human-readable form."""

    code: str
    unit: str


class Mdc(NamedTuple):
    """An IEEE 11073-10101 metric with its unit: code and reference id of each."""

    code: str
    ref_id: str
    unit_code: str
    unit_ref_id: str


LOINC_SYSTEM: Final = "http://loinc.org"
UCUM_SYSTEM: Final = "http://unitsofmeasure.org"
# FHIR R4 vital signs value set: 85354-9 groups 8480-6 and 8462-4 as components.
BP_PANEL: Final = Loinc("85354-9", "Blood pressure panel with all children optional")

LOINC: Final[dict[str, tuple[Loinc, ...]]] = {
    # FHIR R4 vital signs value set (observation-vitalsignresult).
    "resp_rate": (Loinc("9279-1", "Respiratory rate"),),
    # US Core pulse oximetry: 59408-5 (by pulse oximetry) with 2708-6 (the R4 base profile's).
    "spo2": (
        Loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        Loinc("2708-6", "Oxygen saturation in Arterial blood"),
    ),
    "systolic_bp": (Loinc("8480-6", "Systolic blood pressure"),),
    "diastolic_bp": (Loinc("8462-4", "Diastolic blood pressure"),),
    "heart_rate": (Loinc("8867-4", "Heart rate"),),
    "temperature": (Loinc("8310-5", "Body temperature"),),
}
"""Codings of each vital's Observation (or BP component), in order; ingest accepts any one."""

# FHIR R4 vital signs profiles: UCUM `/min`, `%`, `mm[Hg]`, `Cel`.
UCUM: Final[dict[str, Ucum]] = {
    "resp_rate": Ucum("/min", "breaths/minute"),
    "spo2": Ucum("%", "%"),
    "systolic_bp": Ucum("mm[Hg]", "mmHg"),
    "diastolic_bp": Ucum("mm[Hg]", "mmHg"),
    "heart_rate": Ucum("/min", "beats/minute"),
    "temperature": Ucum("Cel", "°C"),
}

MDC: Final[dict[str, Mdc]] = {
    # DK Core IEEE basic observations; Mindray/PCD-01 messages: 151562 MDC_RESP_RATE.
    "resp_rate": Mdc("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN"),
    # PHD IG and PCD-01 examples: 150456 MDC_PULS_OXIM_SAT_O2, PoCD IG dimensions: 262688.
    "spo2": Mdc("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT"),
    # PHD IG blood pressure: 150020 MDC_PRESS_BLD_NONINV, +1 systolic, +2 diastolic.
    "systolic_bp": Mdc("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016", "MDC_DIM_MMHG"),
    "diastolic_bp": Mdc("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016", "MDC_DIM_MMHG"),
    # PoCD IG heart rate DeviceMetric: 147842 MDC_ECG_HEART_RATE, 264864 MDC_DIM_BEAT_PER_MIN.
    "heart_rate": Mdc("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),
    # DE/PHD body temperature profiles: 150364 MDC_TEMP_BODY; PCD-01 examples: 268192 degC.
    "temperature": Mdc("150364", "MDC_TEMP_BODY", "268192", "MDC_DIM_DEGC"),
}
"""The MDC code and unit each vital is sent with in OBX-3 and OBX-6."""

MDC_ALSO: Final[dict[str, tuple[Mdc, ...]]] = {
    # PHD IG spot numeric and PCD-01 monitors: pulse rate from the oximeter.
    "heart_rate": (Mdc("149530", "MDC_PULS_OXIM_PULS_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),),
    # Mindray PCD-01 messages: transthoracic impedance respiration rate.
    "resp_rate": (Mdc("151578", "MDC_TTHOR_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN"),),
}
"""Further MDC codes ingest accepts for a vital; the simulators never emit them."""
