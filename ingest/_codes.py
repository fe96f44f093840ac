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

Ingest also accepts (never emitted by the simulators) the further MDC codes of `MDC_ALSO`, in
order of preference after the vital's own code, and either SpO2 LOINC code on its own:

| Vitals key     | Also accepted (IEEE 11073-10101)                                                   |
|----------------|------------------------------------------------------------------------------------|
| `heart_rate`   | 149530 MDC_PULS_OXIM_PULS_RATE, 149522 MDC_BLD_PULS_RATE_INV, 149514 MDC_PULS_RATE, |
|                | 149546 MDC_PULS_RATE_NON_INV (the cuff's pulse rate)                                |
| `resp_rate`    | 151578 MDC_TTHOR_RESP_RATE, 151594 MDC_CO2_RESP_RATE, 151570 MDC_AWAY_RESP_RATE,    |
|                | 151650 MDC_ACOUSTIC_RESP_RATE, 151658 MDC_PULS_OXIM_PLETH_RESP_RATE                 |
| `systolic_bp`  | 150301 MDC_PRESS_CUFF_SYS (Mindray's NIBP)                                         |
| `diastolic_bp` | 150302 MDC_PRESS_CUFF_DIA                                                          |
| `temperature`  | 150368 MDC_TEMP_CORE, 188420 MDC_TEMP_RECT, 150392 MDC_TEMP_TYMP, 188428 MDC_TEMP_EAR, |
|                | 188424 MDC_TEMP_ORAL, 188452 MDC_TEMP_AXILLA, 150344 MDC_TEMP (site not given)      |

Each code and reference id above is listed, with its definition, in HL7 Denmark's DK Core
"IEEE Basic Observation" value set (dk-core-IEEEBasicObservation), except 150301/150302
(MDC_PRESS_CUFF_SYS/DIA) and 150344 (MDC_TEMP), which are taken from PCD-01 messages of
Mindray (and GE) monitors as they appear in issue 17's captures and in public code that
reproduces them (`150301^MDC_PRESS_CUFF_SYS^MDC`, `150302^MDC_PRESS_CUFF_DIA^MDC`,
`150344^MDC_TEMP^MDC` with `268192^MDC_DIM_DEGC^MDC`): codes and names agree there, but no
copy of IEEE 11073-10101 itself was at hand. Left out on purpose, so they stay in `ignored`:
mean pressures (150023, 150303), invasive arterial pressures (the codes were not verified
here, and a ward chart's BP is a cuff's), skin temperature 150388 (not a body temperature),
gastro-intestinal 188456, arterial saturation 150324 (not by pulse oximetry).

The "no value" markers monitors send (-1, -100, -999, -99.9, 0, 8388607 = 0x7FFFFF, the
IEEE 11073-20601 FLOAT NaN) all fall outside `ingest._device.DEVICE_LIMITS` and are refused
one by one.

FHIR also reads, as a component of the pulse-oximetry Observation (US Core) or on its own,
LOINC 3151-8 "Inhaled oxygen flow rate" in UCUM `L/min` (`OXYGEN_FLOW`): supplemental oxygen
(`on_oxygen` true, `oxygen_flow_lpm`), the NEWS2 air-or-oxygen item.

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

_BPM: Final = ("264864", "MDC_DIM_BEAT_PER_MIN")
_RPM: Final = ("264928", "MDC_DIM_RESP_PER_MIN")
_MMHG: Final = ("266016", "MDC_DIM_MMHG")
_DEGC: Final = ("268192", "MDC_DIM_DEGC")

MDC_ALSO: Final[dict[str, tuple[Mdc, ...]]] = {
    # Continuous sources first (oximeter, arterial line), the cuff's intermittent one last.
    "heart_rate": (
        Mdc("149530", "MDC_PULS_OXIM_PULS_RATE", *_BPM),
        Mdc("149522", "MDC_BLD_PULS_RATE_INV", *_BPM),
        Mdc("149514", "MDC_PULS_RATE", *_BPM),
        Mdc("149546", "MDC_PULS_RATE_NON_INV", *_BPM),
    ),
    "resp_rate": (
        Mdc("151578", "MDC_TTHOR_RESP_RATE", *_RPM),
        Mdc("151594", "MDC_CO2_RESP_RATE", *_RPM),
        Mdc("151570", "MDC_AWAY_RESP_RATE", *_RPM),
        Mdc("151650", "MDC_ACOUSTIC_RESP_RATE", *_RPM),
        Mdc("151658", "MDC_PULS_OXIM_PLETH_RESP_RATE", *_RPM),
    ),
    "systolic_bp": (Mdc("150301", "MDC_PRESS_CUFF_SYS", *_MMHG),),
    "diastolic_bp": (Mdc("150302", "MDC_PRESS_CUFF_DIA", *_MMHG),),
    # Core before peripheral sites; the generic MDC_TEMP (site not said) last.
    "temperature": (
        Mdc("150368", "MDC_TEMP_CORE", *_DEGC),
        Mdc("188420", "MDC_TEMP_RECT", *_DEGC),
        Mdc("150392", "MDC_TEMP_TYMP", *_DEGC),
        Mdc("188428", "MDC_TEMP_EAR", *_DEGC),
        Mdc("188424", "MDC_TEMP_ORAL", *_DEGC),
        Mdc("188452", "MDC_TEMP_AXILLA", *_DEGC),
        Mdc("150344", "MDC_TEMP", *_DEGC),
    ),
}
"""Further MDC codes ingest accepts for a vital, in order of preference; the simulators never
emit them. Sources in the module's docstring."""

OXYGEN_FLOW: Final = Loinc("3151-8", "Inhaled oxygen flow rate")
"""FHIR: supplemental oxygen's flow (US Core pulse oximetry component), UCUM `L/min`."""
OXYGEN_FLOW_UNIT: Final = Ucum("L/min", "L/min")
