"""Deterministic stand-ins for the learned risk (`surveillance.risk.Risk`), for the tests of
its integration: the real model is tested by its own tests.

`EdgeRisk` answers from the chart's own total (probability `total / scale`, capped at 1), so a
test knows the estimate of every score; it names its reasons from the scored parameters and
records every call it gets. `FailingRisk` raises on the calls it is told to; `WrongRisk`
answers what no model should (a probability outside 0..1, something not a `LearnedRisk`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scoring import Context, ScoreResult
from surveillance.risk import LearnedRisk

NAME = "edge-double 1"


@dataclass
class EdgeRisk:
    """A learned risk whose estimate is the chart total over `scale`; adults only."""

    scale: float = 10.0
    horizon_hours: float = 24.0
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    learned: int = 0

    def estimate(self, result: ScoreResult, context: Context, source: str) -> LearnedRisk | None:
        self.calls.append(("estimate", result.obs_msg_id, context.patient_id, source))
        if context.cohort not in (None, "adult"):
            return None
        raised = sorted(k for k, v in result.parameters.items() if v)
        reasons = [f"{key.replace('_', ' ')} scored {result.parameters[key]}" for key in raised]
        return LearnedRisk(
            probability=min(1.0, result.total / self.scale),
            horizon_hours=self.horizon_hours,
            reasons=reasons[:3],
            model=NAME,
        )

    def outcome(self, patient_id: str, time: datetime) -> None:
        self.calls.append(("outcome", patient_id, time))

    def leave(self, patient_id: str, time: datetime) -> None:
        self.calls.append(("leave", patient_id, time))

    def mature(self, now: datetime) -> int:
        self.calls.append(("mature", now))
        return 0

    def save(self, path: Path) -> None:
        self.calls.append(("save", path))
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps({"model": NAME, "scale": self.scale}), encoding="utf-8")
        os.replace(partial, path)

    def describe(self) -> dict[str, Any]:
        return {"name": NAME, "version": "1", "river": None, "learned": self.learned}

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]


class Boom(RuntimeError):
    """What `FailingRisk` raises (its message quotes an id, as a real one might)."""


@dataclass
class FailingRisk(EdgeRisk):
    """An `EdgeRisk` that raises `Boom` on the calls named in `fail`."""

    fail: frozenset[str] = frozenset({"estimate", "outcome", "leave", "mature", "save"})

    def estimate(self, result: ScoreResult, context: Context, source: str) -> LearnedRisk | None:
        if "estimate" in self.fail:
            raise Boom(f"no features for {context.patient_id}")
        return super().estimate(result, context, source)

    def outcome(self, patient_id: str, time: datetime) -> None:
        if "outcome" in self.fail:
            raise Boom(patient_id)
        super().outcome(patient_id, time)

    def leave(self, patient_id: str, time: datetime) -> None:
        if "leave" in self.fail:
            raise Boom(patient_id)
        super().leave(patient_id, time)

    def mature(self, now: datetime) -> int:
        if "mature" in self.fail:
            raise Boom("mature")
        return super().mature(now)

    def save(self, path: Path) -> None:
        if "save" in self.fail:
            raise Boom("save")
        super().save(path)


@dataclass
class WrongRisk(EdgeRisk):
    """An `EdgeRisk` whose estimates are `answer` (anything at all)."""

    answer: Any = None

    def estimate(self, result: ScoreResult, context: Context, source: str) -> Any:
        self.calls.append(("estimate", result.obs_msg_id, context.patient_id, source))
        return self.answer


@dataclass
class HangingRisk(EdgeRisk):
    """An `EdgeRisk` whose `save` hangs (a stuck network disk) until `release` is set."""

    saving: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def save(self, path: Path) -> None:
        self.saving.set()
        self.release.wait(60)
