"""bench/ingest's messages are read as observation sets on both HL7 paths, the same way: a bench
that no test runs rots silently (a sample that starts being refused would time the refusal)."""

from __future__ import annotations

from bench.ingest import loop, messages, rates
from ingest import Observation, parse
from ingest._hl7 import _parse_hl7_python_hl7, parse_hl7
from scoring import LONDON


def test_every_benchmarked_message_is_read_and_both_hl7_paths_agree() -> None:
    found = messages()
    assert len(found) == 6
    for topic, payload in found.values():
        result = parse(topic, payload)
        assert isinstance(result, Observation), result
        if topic.endswith("/hl7v2"):
            fast = parse_hl7(payload, "7A", "12", LONDON)
            assert fast == _parse_hl7_python_hl7(payload, "7A", "12", LONDON)
            assert fast == result


def test_rates_are_messages_per_second() -> None:
    cpu, wall = rates(loop(lambda: sum(range(100)), 1000), 1000, repeats=2)
    assert cpu > 0
    assert wall > 0
