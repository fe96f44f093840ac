"""Out to the record without I/O: the `[outbound]` settings are checked, and the service's
topic forms and queued messages are what the README says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from surveillance import Outbound, SettingsError, load_settings, without_answer
from surveillance.online import Output, Publication
from surveillance.store import AlertRecord, ScoreRecord

ENCODE = msgspec.json.Encoder().encode
AT = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
RESULT: dict[str, Any] = {
    "patient_id": "P1",
    "ward": "7A",
    "bed": "3",
    "time": "2026-11-22T09:30:00Z",
    "obs_msg_id": "o-1",
    "system": "NEWS2",
    "chart": "news2",
    "total": 7,
    "parameters": {"resp_rate": 3},
    "risk": "high",
    "complete": True,
    "missing": [],
}
EVENT: dict[str, Any] = {
    "alert_id": "score-o-1",
    "patient_id": "P1",
    "ward": "7A",
    "bed": "3",
    "time": "2026-11-22T09:30:01Z",
    "kind": "score",
    "severity": "emergency",
    "state": "raised",
    "message": "NEWS2 7 (high)",
    "seq": 1,
}


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"outbound.fhir_base": "ftp://x"}, "outbound.fhir_base"),
        ({"outbound.fhir_base": "nohost"}, "outbound.fhir_base"),
        ({"outbound.fhir_token_env": "NO_SUCH_ENV_FOR_TESTS"}, "outbound.fhir_token_env"),
        ({"outbound.fhir_token_file": "/no/such/file"}, "outbound.fhir_token_file"),
        ({"outbound.retry_first": 10, "outbound.retry_cap": 1}, "outbound.retry_cap"),
        ({"outbound.mllp_port": 70000}, "mllp_port"),
        ({"outbound.nonsense": 1}, "nonsense"),
    ],
)
def test_bad_outbound_settings_are_refused_naming_the_field(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_settings(None, overrides)


def test_nothing_is_formatted_or_queued_unless_configured() -> None:
    outbound = Outbound(load_settings(None))
    assert not outbound.active
    assert not outbound.config.delivers
    assert outbound.publications([Publication("wards/7A/beds/3/score", ENCODE(RESULT), True)]) == []


def test_topic_forms_follow_the_score_and_the_alert() -> None:
    outbound = Outbound(load_settings(None, {"outbound.topics": True, "broker.prefix": "h/"}))
    extra = outbound.publications(
        [
            Publication("h/wards/7A/beds/3/score", ENCODE(RESULT), True),
            Publication("h/wards/7A/alerts", ENCODE(EVENT)),
            Publication("h/surveillance/heartbeat", b"{}", True),
            Publication("h/wards/7A/beds/3/adt", b"{}", True),
        ]
    )
    assert [(p.topic, p.retain) for p in extra] == [
        ("h/wards/7A/beds/3/score/fhir", True),
        ("h/wards/7A/beds/3/score/hl7v2", True),
        ("h/wards/7A/alerts/acm", False),
    ]
    assert msgspec.json.decode(extra[0].payload)["valueInteger"] == 7
    assert b"|EXTHIGH|" in extra[1].payload
    assert b"ORU^R40^ORU_R40" in extra[2].payload


def test_every_stored_score_and_alert_event_is_queued_for_its_endpoints() -> None:
    settings = load_settings(
        None,
        {
            "outbound.mllp_host": "epr",
            "outbound.fhir_base": "https://fhir.example/R4",
            "outbound.acm_host": "acm",
        },
    )
    out = Output()
    out.batch.scores.append(
        ScoreRecord("o-1", AT, "P1", "7A", "3", "NEWS2", "news2", 7, "high", True, ENCODE(RESULT))
    )
    out.batch.alerts.append(
        AlertRecord(
            "score-o-1",
            1,
            AT,
            "7A",
            "3",
            "P1",
            "score",
            "emergency",
            "raised",
            "m",
            "o-1",
            ENCODE(EVENT),
        )
    )
    items = Outbound(settings).outgoing(out)
    assert [(i.target, i.patient) for i in items] == [
        ("fhir", "P1"),
        ("mllp", "P1"),
        ("acm", "P1"),
    ]
    assert items[0].key == items[1].key == msgspec.json.decode(items[0].body)["id"]
    assert items[2].key == "score-o-1#1"
    assert Outbound(settings).outgoing(out) == items  # stable: a retry is the same message


@pytest.mark.parametrize(
    ("why", "shown"),
    [
        (
            'FHIR PUT http://h/fhir/Observation/x: HTTP 422 {"issue":[{"diagnostics":"NHS 9434765919"}]}',
            "FHIR PUT http://h/fhir/Observation/x: HTTP 422 (its answer is in the log)",
        ),
        (
            "MLLP epr:2575: AE unknown patient 9434765919",
            "MLLP epr:2575: AE (its answer is in the log)",
        ),
        ("MLLP epr:2575: AR", "MLLP epr:2575: AR (its answer is in the log)"),
        ("MLLP epr:2575: ConnectionRefusedError: [Errno 111]", None),
        (None, None),
    ],
)
def test_healthz_never_quotes_an_endpoints_answer(why: str | None, shown: str | None) -> None:
    """`/healthz` is anonymous: the reason it shows stops at the status or ACK code."""
    assert without_answer(why) == (why if shown is None else shown)
