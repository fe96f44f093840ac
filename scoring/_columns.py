"""Observation sets as columns (numpy arrays), the input of every chart item's column rule.

Column conventions: a numeric input is a float64 column with NaN where absent; a categorical
input is an int16 column of codes into its vocabulary (`VOCABULARIES`) with -1 where absent (a
boolean such as `suspected_infection` is one too, vocabulary false/true); derived `on_oxygen`
is float64 with NaN unknown, 0 air, 1 oxygen; the context's `infection` is an int16 code column
like a categorical one. A points column is int16 with MISSING where the item could not be
scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import numpy.typing as npt

from scoring._model import (
    NUMERIC_KEYS,
    VITAL_KEYS,
    BpCode,
    CarerAnswer,
    ConcernLevel,
    Consciousness,
    Context,
    InfectionStatus,
    ObservationSet,
    OxygenDevice,
    RespDistress,
)

MISSING = -1
Int16Array = npt.NDArray[np.int16]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def category_key(value: str | bool) -> str:
    """The chart-file key of a categorical value: booleans are spelled "true"/"false"."""
    if isinstance(value, str):
        return value
    return "true" if value else "false"


VOCABULARIES: Mapping[str, tuple[str, ...]] = {
    "consciousness": get_args(Consciousness),
    "oxygen_device": get_args(OxygenDevice),
    "bp_code": get_args(BpCode),
    "resp_distress": get_args(RespDistress),
    "concern": ("false", "true", *get_args(ConcernLevel)),
    "carer_question": get_args(CarerAnswer),
    "suspected_infection": ("false", "true"),
}
CODES = {name: {v: i for i, v in enumerate(vocab)} for name, vocab in VOCABULARIES.items()}
INFECTION: tuple[str, ...] = get_args(InfectionStatus)
"""The context's `infection` statuses: `Columns.infection` holds codes into this."""
_INFECTION_CODES = {v: i for i, v in enumerate(INFECTION)}


@dataclass(frozen=True, slots=True)
class Columns:
    """Observation sets as columns: NaN or code -1 where a value is absent.

    `numeric` holds every numeric vital (float64), `on_oxygen` the stated flag (NaN, 0, 1),
    `categorical` every categorical or boolean vital as int16 codes into `VOCABULARIES`,
    `spo2_scale` the context's scale, `refused` rows already refused before columns were
    built (a contradiction in `not_recorded`), and `infection` the context's infection status
    as int16 codes into `INFECTION` (-1: none known).
    """

    n: int
    numeric: Mapping[str, FloatArray]
    on_oxygen: FloatArray
    categorical: Mapping[str, Int16Array]
    spo2_scale: npt.NDArray[np.int8]
    refused: BoolArray
    infection: Int16Array

    @staticmethod
    def vocabulary(name: str) -> tuple[str, ...]:
        return VOCABULARIES[name]

    @classmethod
    def from_arrays(
        cls,
        n: int,
        numeric: Mapping[str, FloatArray] | None = None,
        categorical: Mapping[str, Int16Array] | None = None,
        on_oxygen: FloatArray | None = None,
        spo2_scale: npt.NDArray[np.int8] | None = None,
        *,
        infection: Int16Array | None = None,
    ) -> Columns:
        """Columns ready-made (absent columns are filled as absent)."""
        numeric = dict(numeric or {})
        categorical = dict(categorical or {})
        unknown = (set(numeric) - set(NUMERIC_KEYS)) | (set(categorical) - set(VOCABULARIES))
        if unknown:
            raise ValueError(f"unknown column(s): {sorted(unknown)}")
        nan = np.full(n, np.nan)
        absent = np.full(n, -1, dtype=np.int16)
        return cls(
            n=n,
            numeric={k: np.asarray(numeric.get(k, nan), dtype=np.float64) for k in NUMERIC_KEYS},
            on_oxygen=nan if on_oxygen is None else np.asarray(on_oxygen, dtype=np.float64),
            categorical={
                k: np.asarray(categorical.get(k, absent), dtype=np.int16) for k in VOCABULARIES
            },
            spo2_scale=np.ones(n, dtype=np.int8)
            if spo2_scale is None
            else np.asarray(spo2_scale, dtype=np.int8),
            refused=np.zeros(n, dtype=np.bool_),
            infection=absent if infection is None else np.asarray(infection, dtype=np.int16),
        )

    @classmethod
    def from_observations(
        cls, observations: Sequence[ObservationSet], contexts: Sequence[Context]
    ) -> Columns:
        """Columns from parsed observation sets and their contexts."""
        n = len(observations)
        vitals = [o.vitals for o in observations]
        nan = float("nan")
        numeric = {
            k: np.fromiter(
                (nan if (x := getattr(v, k)) is None else x for v in vitals), np.float64, n
            )
            for k in NUMERIC_KEYS
        }
        categorical = {}
        for name, codes in CODES.items():
            categorical[name] = np.fromiter(
                (-1 if (x := getattr(v, name)) is None else codes[category_key(x)] for v in vitals),
                np.int16,
                n,
            )
        on_oxygen = np.fromiter(
            (nan if v.on_oxygen is None else float(v.on_oxygen) for v in vitals), np.float64, n
        )
        scale = np.fromiter((c.spo2_scale for c in contexts), np.int8, n)
        infection = np.fromiter(
            (-1 if c.infection is None else _INFECTION_CODES[c.infection] for c in contexts),
            np.int16,
            n,
        )
        cols = cls.from_arrays(n, numeric, categorical, on_oxygen, scale, infection=infection)
        refused = np.fromiter(
            (bool(o.not_recorded) and _not_recorded_clash(o) for o in observations), np.bool_, n
        )
        return dataclasses.replace(cols, refused=refused)


def _not_recorded_clash(obs: ObservationSet) -> bool:
    return any(k not in VITAL_KEYS or getattr(obs.vitals, k) is not None for k in obs.not_recorded)
