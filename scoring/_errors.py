"""Errors raised by the scoring core."""

from __future__ import annotations

from dataclasses import dataclass


class ScoringError(Exception):
    """Root of every error the scoring core raises."""


class ChartError(ScoringError):
    """A chart file is malformed: the chart is refused at load time, never half-used.

    Operator action: correct the named file and field, then restart.
    """

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an observation set cannot be scored.

    Attributes:
        key: the input at fault (a vitals or context key), or "" for the set as a whole.
        code: a stable machine code: "implausible", "contradictory", "not-on-chart",
            "no-chart", "unknown-key".
        message: a sentence for the person who sent the data.
    """

    key: str
    code: str
    message: str


class InvalidObservation(ScoringError):
    """The observation set was refused: it is never scored, and every reason is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidObservation needs at least one problem")
        super().__init__("; ".join(p.message for p in problems))
        self.problems = tuple(problems)

    @property
    def code(self) -> str:
        """The first problem's code, for a dead letter's `error` field."""
        return self.problems[0].code
