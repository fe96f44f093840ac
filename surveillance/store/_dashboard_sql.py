"""The safety dashboard's read-only queries (`Store.dashboard_rows`), one text for both
backends but for the JSON access, which each backend's dialect spells its own way.

Indexes used: nurses' sets by the scores' time (PostgreSQL: the BRIN index `scores_time`, or
TimescaleDB's chunks; SQLite has no index on the scores' time and scans the table, acceptable
for the one-ward SQLite store) joined to `observations` by its key; alerts by
`alert_events_ward_time` (the window of each ward) then the key `(alert_id, seq)`; clinical
events by `clinical_events_time` (`Store.events`); ADT is small and read whole up to `until`.
No new index (no migration).
"""

from __future__ import annotations

from typing import Final

NURSE_SETS_SQL: Final = """
SELECT s.time, s.patient_id, s.ward, s.system, {due} AS next_obs_due
FROM scores s JOIN observations o ON o.msg_id = s.obs_msg_id AND o.time = s.time
WHERE s.time >= {p} AND s.time < {p} AND o.source = 'manual'
ORDER BY s.patient_id, s.time, s.obs_msg_id
"""
"""Nurses' sets (`source = 'manual'`) scored in a window; `{due}` extracts `next_obs_due` from
the score's JSON. The join repeats the time: TimescaleDB's unique key is `(msg_id, time)`."""

ALERTS_SQL: Final = """
SELECT a.alert_id, a.seq, a.time, a.ward, a.patient_id, a.kind, a.severity, a.state,
       {system} AS system
FROM alert_events a
WHERE a.alert_id IN (
    SELECT w.alert_id FROM alert_events w WHERE w.ward IN (SELECT DISTINCT ward FROM adt)
    AND w.time >= {p} AND w.time < {p}
) AND a.time < {p}
ORDER BY a.alert_id, a.seq
"""
"""Every event before `until` of the alerts with an event in `[since, until)`. The subquery
names the wards so that `alert_events_ward_time` serves the window (an alert's ward always had
an ADT: a patient is placed before anything alerts)."""

ADT_SQL: Final = """
SELECT msg_id, time, received_at, ward, bed, patient_id, event, context
FROM adt WHERE time < {p} ORDER BY time, msg_id
"""

SQLITE_DUE: Final = "json_extract(s.result, '$.next_obs_due')"
SQLITE_SYSTEM: Final = "json_extract(a.event, '$.system')"
POSTGRES_DUE: Final = "s.result->>'next_obs_due'"
POSTGRES_SYSTEM: Final = "a.event->>'system'"
