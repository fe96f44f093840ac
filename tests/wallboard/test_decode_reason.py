"""What `/healthz` and the log say of an ADT the board could not read: never the value it
choked on (review of issue 14: a value holding msgspec's own ` - at `` left its tail behind)."""

from __future__ import annotations

import msgspec
import pytest

from wallboard import WardBoard

PATIENT = "NHS9434765919"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", PATIENT),
        ("event", f"x - at `{PATIENT}"),  # the words msgspec puts before the path
        ("event", f"x - at `$.event` {PATIENT}"),
        ("event", f"{PATIENT}\n - at `$.event`"),
        ("cohort", f"adult - at `{PATIENT}`"),
        ("spo2_scale", 9434765919),
    ],
)
def test_a_refused_value_is_never_in_the_reason(field: str, value: object) -> None:
    board = WardBoard()
    adt = {"event": "admit", "patient_id": "x", field: value}
    assert board.apply("wards/7A/beds/1/adt", msgspec.json.encode(adt)) == []
    rejection = board.last_rejection
    assert rejection is not None
    assert rejection.reason == f"Invalid enum value - at `$.{field}`"
    assert "9434765919" not in str(board.stats())
