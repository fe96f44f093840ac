"""The safety dashboard's queries, one text for both backends but for the JSON access and
the parameters, which each backend's dialect spells its own way.

- The live path's rows of a window (`Store.dashboard_rows`): nurses' sets by the scores' time
  (PostgreSQL: the BRIN index `scores_time`, or TimescaleDB's chunks; SQLite scans, acceptable
  for the one-ward store) joined to `observations` by its key; alerts by
  `alert_events_ward_time` then the key `(alert_id, seq)`; clinical events by
  `clinical_events_time`; the ADT of the patients the window can count (`ADT_SQL`).
- Every row of some patients, for the refresh of their items (`Store.patient_rows`): each
  table by its `(patient_id, time)` index.
- The window's items and stays (`Store.dashboard_sums`, migration 0006): by
  `dashboard_items_time` and `dashboard_stays_start`; summed by PostgreSQL, read as they are
  by SQLite.
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
FROM adt WHERE time < {until} AND patient_id IN (
    SELECT patient_id FROM adt WHERE time >= {lookback} AND time < {until}
    UNION
    SELECT a.patient_id FROM adt a
    WHERE a.time < {lookback} AND a.event <> 'discharge' AND NOT EXISTS (
        SELECT 1 FROM adt b WHERE b.patient_id = a.patient_id AND b.time < {lookback}
        AND (b.time > a.time OR (b.time = a.time AND b.msg_id > a.msg_id)))
    UNION
    SELECT patient_id FROM alert_events WHERE time >= {since} AND time < {until}
    UNION
    SELECT patient_id FROM clinical_events WHERE time >= {since} AND time < {until}
)
ORDER BY time, msg_id
"""
"""The ADT messages before `until` of the patients the window can count: those with an ADT
message from `lookback` (`since - DASHBOARD_LOOKBACK`, as the nurses' sets) on, those still in
hospital then (their latest message before it not a discharge), and those with an alert event
or a clinical event in the window; not every patient's since the store began (the wards come
from `WARDS_SQL`). Indexes: `adt_patient_time`, `alert_events_ward_time`, the events' time."""

SQLITE_DUE: Final = "json_extract(s.result, '$.next_obs_due')"
SQLITE_SYSTEM: Final = "json_extract(a.event, '$.system')"
POSTGRES_DUE: Final = "s.result->>'next_obs_due'"
POSTGRES_SYSTEM: Final = "a.event->>'system'"


# By patient: every row of some patients (the refresh of their dashboard items). `{ids}` is
# the dialect's test of `patient_id` against the list (PostgreSQL `= ANY(%s)`, SQLite `IN
# (?, ...)`); every query uses the table's (patient_id, time) index.

PATIENT_ADT_SQL: Final = """
SELECT msg_id, time, received_at, ward, bed, patient_id, event, context
FROM adt WHERE patient_id {ids} ORDER BY time, msg_id
"""

PATIENT_SETS_SQL: Final = """
SELECT s.time, s.patient_id, s.ward, s.system, {due} AS next_obs_due
FROM scores s JOIN observations o
  ON o.msg_id = s.obs_msg_id AND o.time = s.time AND o.patient_id = s.patient_id
WHERE s.patient_id {ids} AND o.patient_id {ids} AND o.source = 'manual'
ORDER BY s.patient_id, s.time, s.obs_msg_id
"""
"""The patients' nurses' sets; both sides by their (patient_id, time) index (the patients twice,
so that the planner never scans every observation for the join)."""

PATIENT_ALERTS_SQL: Final = """
SELECT a.alert_id, a.seq, a.time, a.ward, a.patient_id, a.kind, a.severity, a.state,
       {system} AS system
FROM alert_events a WHERE a.patient_id {ids} ORDER BY a.alert_id, a.seq
"""

PATIENT_EVENTS_SQL: Final = """
SELECT msg_id, time, received_at, ward, bed, patient_id, event, category, recorded_by, note
FROM clinical_events WHERE patient_id {ids} ORDER BY time, msg_id
"""

ITEM_COLUMNS: Final = (
    "patient_id", "measure", "time", "decided", "ward", "hospital", "numerator", "denominator",
    "value", "sex", "ethnicity", "age", "imd", "needs",
)  # fmt: skip
"""`dashboard_items`'s columns, in `DashboardItem`'s order."""
STAY_COLUMNS: Final = (
    "patient_id", "ward", "start_time", "end_time", "sex", "ethnicity", "age", "imd", "needs",
)  # fmt: skip
"""`dashboard_stays`'s columns, in `DashboardStay`'s order."""

WINDOW_ITEMS_SQL: Final = f"""
SELECT {", ".join(ITEM_COLUMNS)} FROM dashboard_items
WHERE time >= {{since}} AND time < {{until}} AND coalesce(decided, time) < {{until}} {{measures}}
"""  # noqa: S608 (constants)
"""The items counted in `[since, until)` as of `until` (decided before it)."""

WINDOW_STAYS_SQL: Final = f"""
SELECT {", ".join(STAY_COLUMNS)} FROM dashboard_stays
WHERE start_time < {{until}} AND (end_time IS NULL OR end_time > {{since}})
"""  # noqa: S608 (constants)
"""The stay pieces overlapping `[since, until)`."""

WARDS_SQL: Final = "SELECT DISTINCT ward FROM adt WHERE time < {until} ORDER BY ward"
"""Every ward with an ADT message before `until` (the dashboard's wards)."""

POSTGRES_WARDS_SQL: Final = """
WITH RECURSIVE w(ward) AS (
    SELECT min(ward) FROM adt WHERE time < %(until)s
    UNION ALL
    SELECT (SELECT min(a.ward) FROM adt a WHERE a.ward > w.ward AND a.time < %(until)s)
    FROM w WHERE w.ward IS NOT NULL
)
SELECT ward FROM w WHERE ward IS NOT NULL ORDER BY ward
"""
"""`WARDS_SQL` as a skip scan of `adt_bed_time` (ward first): a probe per ward, not every ADT
message of the store (a year of a big hospital: 0.05 s)."""

# PostgreSQL: the sums of the window's items (index `dashboard_items_time`): by period, each
# item's period found among the spans' starts by `width_bucket` (a binary search: converting
# every item's time to the local calendar cost more than the rest of the query), and per
# patient and equity groups (the dashboard sums those by group: the equity intervals are
# clustered by patient).

_WINDOW: Final = "time >= %(since)s AND time < %(until)s AND coalesce(decided, time) < %(until)s"

POSTGRES_PERIOD_SUMS: Final = f"""
SELECT measure, ward, hospital, width_bucket(time, %(starts)s::timestamptz[]),
       sum(numerator), sum(denominator)
FROM dashboard_items WHERE {_WINDOW} {{patients}}
GROUP BY 1, 2, 3, 4
"""  # noqa: S608 (constants)
"""`(measure, ward, hospital, period number from 1, numerator, denominator)`."""

POSTGRES_PATIENT_SUMS: Final = f"""
SELECT measure, ward, hospital, patient_id, sex, ethnicity, age, imd, needs,
       sum(numerator), sum(denominator)
FROM dashboard_items WHERE {_WINDOW}
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""  # noqa: S608 (constants)
"""`(measure, ward, hospital, patient_id, sex, ethnicity, age, imd, needs, numerator,
denominator)` of the window: per patient, for the equity tables' patient-clustered intervals
(the dashboard sums them by group). Exact: the items count whole numbers."""

POSTGRES_VALUE_ROWS: Final = f"""
SELECT measure, ward, hospital, width_bucket(time, %(starts)s::timestamptz[]),
       sex, ethnicity, age, imd, needs, value
FROM dashboard_items
WHERE measure = ANY(%(medians)s) AND value IS NOT NULL AND {_WINDOW}
"""  # noqa: S608 (constants)
"""`(measure, ward, hospital, period number from 1, sex, ethnicity, age, imd, needs, value)`:
the median measures' values in the window (index `dashboard_items_values`; grouped by period
and groups with `array_agg` it took three times as long)."""

POSTGRES_STAY_SUMS: Final = """
SELECT s.ward, 'period', p.label,
       sum(extract(epoch FROM least(coalesce(s.end_time, p.stop), p.stop)
                              - greatest(s.start_time, p.start)) * 1000000)::bigint
FROM dashboard_stays s
JOIN unnest(%(labels)s::text[], %(starts)s::timestamptz[], %(stops)s::timestamptz[])
     AS p(label, start, stop)
  ON s.start_time < p.stop AND (s.end_time IS NULL OR s.end_time > p.start)
WHERE s.start_time < %(until)s AND (s.end_time IS NULL OR s.end_time > %(since)s) {patients}
GROUP BY s.ward, p.label
"""
"""`(ward, 'period', label, microseconds)`: the stays' time in each period. Exact: `extract(epoch
...)` is numeric, summed in whole microseconds."""

POSTGRES_PATIENT_STAYS: Final = """
SELECT ward, patient_id, sex, ethnicity, age, imd, needs,
       sum(extract(epoch FROM least(coalesce(end_time, %(until)s), %(until)s)
                              - greatest(start_time, %(since)s)) * 1000000)::bigint
FROM dashboard_stays
WHERE start_time < %(until)s AND (end_time IS NULL OR end_time > %(since)s)
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
"""`(ward, patient_id, sex, ethnicity, age, imd, needs, microseconds)`: each patient's time in
the window by groups."""

# PostgreSQL: the equity tables, summed (`Store.dashboard_sums` with a `CellSpec`). Each cell's
# clustered interval needs the moments of its patients' sums (`Moments`): each patient's items
# of a name (a family's members share its denominator) summed per scope (ward; the hospital)
# and groups, then per cell. A patient with one set of groups in the window (nearly all)
# counts the same in each of its cells, so their moments are summed per set of groups and only
# those sums are spread over the cells; the rest (groups changed during the window: `mixed`)
# are spread per patient first. A rate's moments are its exposure's (the patient-days or
# admissions, per patient) corrected by its patients with an event (`r` rows, as `_moments`
# does). Only the shown wards and the hospital need moments (`m`, `r`, which carry the cells'
# sums too); the other wards' cells (their sums only, for the suppression: `s`) by grouping
# sets over their sums per set of groups. Whole numbers throughout (the items count whole
# numbers; stays in microseconds; squares numeric), so the result is exact whatever order
# PostgreSQL adds in. Every step is a hash aggregation or hash join (`_postgres` turns merge
# joins off: the planner's estimates of these CTEs are far too small, and it sorted).

POSTGRES_CELLS: Final = """
WITH names(measure, name, own) AS (
    SELECT * FROM unnest(%(map_measures)s::text[], %(map_names)s::text[], %(map_own)s::bool[])
),
measured AS MATERIALIZED (
    SELECT measure, ward, hospital, patient_id, sex, ethnicity, age, imd, needs,
           sum(numerator)::bigint AS y, sum(denominator)::bigint AS x
    FROM dashboard_items
    WHERE time >= %(since)s AND time < %(until)s AND coalesce(decided, time) < %(until)s
        {patients}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    UNION ALL
    SELECT NULL, ward, true, patient_id, sex, ethnicity, age, imd, needs, 0,
           sum(extract(epoch FROM least(coalesce(end_time, %(until)s), %(until)s)
                                  - greatest(start_time, %(since)s)) * 1000000)::bigint
    FROM dashboard_stays
    WHERE start_time < %(until)s AND (end_time IS NULL OR end_time > %(since)s) {patients}
    GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
),
named AS (
    SELECT n.name, m.ward, m.hospital, m.patient_id, m.sex, m.ethnicity, m.age, m.imd, m.needs,
           CASE WHEN n.own THEN m.y ELSE 0 END AS y, m.x
    FROM measured m JOIN names n ON n.measure = m.measure
    UNION ALL
    SELECT %(days)s::text, ward, hospital, patient_id, sex, ethnicity, age, imd, needs, y, x
    FROM measured WHERE measure IS NULL
),
mixed AS MATERIALIZED (
    SELECT patient_id FROM measured GROUP BY 1
    HAVING min(sex) <> max(sex) OR min(ethnicity) <> max(ethnicity) OR min(age) <> max(age)
        OR min(imd) <> max(imd) OR min(needs) <> max(needs)
),
p AS MATERIALIZED (
    SELECT r.name, s.scope, r.patient_id, r.sex, r.ethnicity, r.age, r.imd, r.needs,
           sum(r.y) AS y, sum(r.x) AS x
    FROM named r
    CROSS JOIN LATERAL (VALUES ('w' || r.ward), (CASE WHEN r.hospital THEN 'h' END)) s(scope)
    WHERE s.scope IS NOT NULL AND (%(every)s::bool OR s.scope = ANY(%(scopes)s::text[]))
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
),
q AS MATERIALIZED (
    SELECT p.name, p.scope, p.patient_id, '' AS dim, '' AS grp, p.sex, p.ethnicity, p.age,
           p.imd, p.needs, p.y, p.x
    FROM p WHERE p.patient_id NOT IN (SELECT patient_id FROM mixed)
    UNION ALL
    SELECT p.name, p.scope, p.patient_id, c.dim, c.grp, '', '', '', '', -1, sum(p.y), sum(p.x)
    FROM p CROSS JOIN LATERAL (
        SELECT %(all)s::text, %(all)s::text UNION ALL SELECT 'sex', p.sex
        UNION ALL SELECT 'ethnicity', p.ethnicity UNION ALL SELECT 'age', p.age
        UNION ALL SELECT 'imd', p.imd
        UNION ALL SELECT 'needs', u.g FROM unnest(%(needs)s::text[]) WITH ORDINALITY AS u(g, b)
            WHERE (p.needs >> (u.b::int - 1)) & 1 = 1
        UNION ALL SELECT 'needs', %(no_needs)s::text WHERE p.needs = 0
    ) c(dim, grp)
    WHERE p.patient_id IN (SELECT patient_id FROM mixed)
    GROUP BY 1, 2, 3, 4, 5
),
rated AS (
    SELECT r.name, r.scope, r.dim, r.grp, r.sex, r.ethnicity, r.age, r.imd, r.needs,
           r.y, r.x, coalesce(e.x, 0) AS e
    FROM q r JOIN unnest(%(rates)s::text[], %(exposures)s::text[]) AS t(name, exposure)
        ON t.name = r.name
    LEFT JOIN q e ON e.name = t.exposure AND e.scope = r.scope AND e.patient_id = r.patient_id
        AND e.dim = r.dim AND e.grp = r.grp AND e.sex = r.sex AND e.ethnicity = r.ethnicity
        AND e.age = r.age AND e.imd = r.imd AND e.needs = r.needs
),
moments AS (
    SELECT 'm' AS kind, name, scope, dim, grp, sex, ethnicity, age, imd, needs,
           count(*) FILTER (WHERE y <> 0 OR x <> 0) AS n, count(*) FILTER (WHERE x <> 0) AS nx,
           sum(y) AS y, sum(x) AS x, sum(y::numeric * y) AS yy, sum(y::numeric * x) AS xy,
           sum(x::numeric * x) AS xx
    FROM q GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10
    UNION ALL
    SELECT 'r', name, scope, dim, grp, sex, ethnicity, age, imd, needs,
           count(*) FILTER (WHERE e = 0 AND (y <> 0 OR x <> 0)), 0, sum(y), sum(x),
           sum(y::numeric * y), sum(y::numeric * (x + e)),
           sum((x + e)::numeric * (x + e) - e::numeric * e)
    FROM rated GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10
),
tuples AS (
    SELECT name, 'w' || ward AS scope, sex, ethnicity, age, imd, needs, sum(y) AS y, sum(x) AS x
    FROM named
    WHERE %(all_sums)s::bool OR NOT (%(every)s::bool OR 'w' || ward = ANY(%(scopes)s::text[]))
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT m.kind, m.name, m.scope, c.dim, c.grp, sum(m.n), sum(m.nx), sum(m.y), sum(m.x),
       sum(m.yy), sum(m.xy), sum(m.xx)
FROM moments m CROSS JOIN LATERAL (
    SELECT m.dim, m.grp WHERE m.dim <> ''
    UNION ALL SELECT %(all)s::text, %(all)s::text WHERE m.dim = ''
    UNION ALL SELECT 'sex', m.sex WHERE m.dim = ''
    UNION ALL SELECT 'ethnicity', m.ethnicity WHERE m.dim = ''
    UNION ALL SELECT 'age', m.age WHERE m.dim = ''
    UNION ALL SELECT 'imd', m.imd WHERE m.dim = ''
    UNION ALL SELECT 'needs', u.g FROM unnest(%(needs)s::text[]) WITH ORDINALITY AS u(g, b)
        WHERE m.dim = '' AND (m.needs >> (u.b::int - 1)) & 1 = 1
    UNION ALL SELECT 'needs', %(no_needs)s::text WHERE m.dim = '' AND m.needs = 0
) c(dim, grp)
GROUP BY 1, 2, 3, 4, 5
UNION ALL
SELECT 's', name, scope, CASE
        WHEN GROUPING(sex) = 0 THEN 'sex' WHEN GROUPING(ethnicity) = 0 THEN 'ethnicity'
        WHEN GROUPING(age) = 0 THEN 'age' WHEN GROUPING(imd) = 0 THEN 'imd'
        WHEN GROUPING(needs) = 0 THEN 'needs' ELSE %(all)s::text END,
       coalesce(sex, ethnicity, age, imd, needs::text, %(all)s::text), NULL, NULL, sum(y), sum(x),
       NULL, NULL, NULL
FROM tuples GROUP BY name, scope, GROUPING SETS ((), (sex), (ethnicity), (age), (imd), (needs))
"""
"""`(kind, name, scope, dimension, group, n, nx, y, x, yy, xy, xx)` (`DashboardSums.cells`;
scope `h` the hospital, `w` + ward a ward; `needs` of `s` rows the bitmask as text): moments
(`m`, `r`) for the scopes `%(scopes)s` (or every one: `%(every)s`), sums (`s`) for the
others (for every scope too: `%(all_sums)s`, a rollup's). `{patients}`: a condition on
`patient_id` (the patients summed from items: `ROLLUP_RAW`), or nothing."""

POSTGRES_MARK_DIRTY: Final = """
INSERT INTO dashboard_dirty (patient_id) SELECT unnest(%s::text[])
ON CONFLICT (patient_id) DO UPDATE SET mark = excluded.mark
"""
"""Marks the patients of a batch (sorted, so that concurrent writers lock in one order)."""

# PostgreSQL: the rollups of settled patients (migration 0008). `_LOCAL_MONTH` and
# `_NEXT_MONTH` are the local month starting a bucket and the one after its last; a patient
# whose times are outside 1900-9000 or span more than two months is in no bucket (always
# summed from items).

ROLLUP_LOCK: Final = 0x5375_7276_524F_4C4C  # "SurvROLL"
"""The advisory lock of the rollups' upkeep: item replacement and the rollup refresh."""


def _instant(local: str) -> str:
    """SQL: the instant of the local time `local` (a timestamp) in `%(tz)s`, as Python reads
    it (`fold=0`): when the clocks go back over it (it happens twice: Havana's midnight on the
    first Sunday of November), the first. PostgreSQL's `AT TIME ZONE` takes the second: a
    bucket's month would begin an hour after its patients' first times. In a gap both take
    the offset before the change. The first is `local` at the offset of a day before the
    second (when it reads as `local`: otherwise there is no first). The buckets' days are
    Python's (`_postgres.local_days`), whatever the server's rules."""
    second = f"(({local}) AT TIME ZONE %(tz)s)"
    before = f"({second} - interval '1 day')"
    offset = f"({before} AT TIME ZONE %(tz)s - {before} AT TIME ZONE 'UTC')"
    first = f"((({local}) - {offset}) AT TIME ZONE 'UTC')"
    return (
        f"(CASE WHEN {first} AT TIME ZONE %(tz)s = ({local})"
        f" THEN least({first}, {second}) ELSE {second} END)"
    )


_LOCAL_MONTH: Final = _instant("date_trunc('month', {t} AT TIME ZONE %(tz)s)")
_NEXT_MONTH: Final = _instant("date_trunc('month', {t} AT TIME ZONE %(tz)s) + interval '1 month'")
_BUCKETABLE: Final = """first_time >= '1900-01-01' AND last_time < '9000-01-01'
    AND date_trunc('month', last_time AT TIME ZONE %(tz)s)
        < date_trunc('month', first_time AT TIME ZONE %(tz)s) + interval '2 months'"""

ROLLUP_FORGET_OTHER_TZ: Final = [
    """UPDATE dashboard_patients SET pending = true, bucket = NULL
    WHERE bucket IN (SELECT id FROM dashboard_buckets WHERE tz <> %(tz)s)""",
    *(
        f"DELETE FROM {t} WHERE bucket IN (SELECT id FROM dashboard_buckets WHERE tz <> %(tz)s)"  # noqa: S608
        for t in ("dashboard_rollup_cells", "dashboard_rollup_periods", "dashboard_rollup_stays")
    ),
    "DELETE FROM dashboard_buckets WHERE tz <> %(tz)s",
]
"""Buckets of another time zone (the settings changed): their patients assigned again."""

ROLLUP_FOOTPRINTS: Final = """
UPDATE dashboard_patients d SET first_time = f.first_time, last_time = f.last_time
FROM (
    SELECT p.patient_id, least(i.first, s.first) AS first_time,
           CASE WHEN s.open THEN NULL ELSE greatest(i.last, s.last) END AS last_time
    FROM dashboard_patients p
    LEFT JOIN LATERAL (
        SELECT min(time) AS first, max(greatest(time, decided)) AS last
        FROM dashboard_items WHERE patient_id = p.patient_id
    ) i ON true
    LEFT JOIN LATERAL (
        SELECT min(start_time) AS first, max(end_time) AS last, bool_or(end_time IS NULL) AS open
        FROM dashboard_stays WHERE patient_id = p.patient_id
    ) s ON true
    WHERE p.pending
) f
WHERE d.patient_id = f.patient_id
"""
"""The pending patients' first and last times (last NULL: a stay still open). An item's
time can be after its decision (a nurses' set taken early is an item at its due time, decided
at the next set), so the last time is the later of each item's two."""

ROLLUP_NEW_BUCKETS: Final = f"""
INSERT INTO dashboard_buckets (tz, start, stop)
SELECT DISTINCT %(tz)s, {_LOCAL_MONTH.format(t="first_time")}, {_NEXT_MONTH.format(t="last_time")}
FROM dashboard_patients WHERE pending AND {_BUCKETABLE}
ON CONFLICT (tz, level, start, stop) DO UPDATE SET dirty = true
"""  # noqa: S608 (constants)
"""The buckets the pending patients settle in, made (or marked dirty: they gain patients)."""

ROLLUP_ASSIGN: Final = f"""
UPDATE dashboard_patients d SET bucket = b.id, pending = false
FROM dashboard_buckets b
WHERE d.pending AND {
    _BUCKETABLE.replace("first_time", "d.first_time").replace("last_time", "d.last_time")
}
  AND b.tz = %(tz)s AND b.start = {_LOCAL_MONTH.format(t="d.first_time")}
  AND b.stop = {_NEXT_MONTH.format(t="d.last_time")}
"""  # noqa: S608 (constants)
"""The pending patients that settle, assigned to their bucket."""

ROLLUP_UNSETTLED: Final = "UPDATE dashboard_patients SET pending = false WHERE pending"
"""The pending patients left: in no bucket (still in hospital, too long, or no items)."""

ROLLUP_DIRTY_BUCKETS: Final = """
SELECT id FROM dashboard_buckets WHERE level = 1 AND (dirty OR spec <> %(spec)s)
ORDER BY start, stop
"""

_INSIDE: Final = "b.level = 1 AND b.tz = q.tz AND b.start >= q.start AND b.stop <= q.stop"
"""A level-1 bucket `b` inside the quarter `q`."""

ROLLUP_DIRTY_QUARTERS: Final = f"""
UPDATE dashboard_buckets q SET dirty = true FROM dashboard_buckets b
WHERE q.level = 2 AND NOT q.dirty AND b.dirty AND {_INSIDE}
"""  # noqa: S608 (constants)
"""The quarters of the dirty level-1 buckets made dirty too: run in every transaction that
makes a level-1 bucket dirty (a quarter is clean only while each bucket inside is as summed)."""

ROLLUP_REBUILT_QUARTER: Final = f"""
UPDATE dashboard_buckets q SET dirty = true FROM dashboard_buckets b
WHERE b.id = %(bucket)s AND q.level = 2 AND NOT q.dirty AND {_INSIDE}
"""  # noqa: S608 (constants)
"""The quarter of a level-1 bucket rebuilt or dropped made dirty, in the same transaction: a
bucket rebuilt for another cell spec was clean, and its quarter, clean with the old spec,
would still be used by a reader of the old spec (an old version during an upgrade) while the
bucket's patients, in no bucket usable with that spec, are summed from items: twice."""

_QUARTER: Final = "date_trunc('quarter', b.start AT TIME ZONE %(tz)s)"
ROLLUP_NEW_QUARTERS: Final = f"""
INSERT INTO dashboard_buckets (tz, level, start, stop)
SELECT DISTINCT b.tz, 2, {_instant(_QUARTER)}, {_instant(_QUARTER + " + interval '3 months'")}
FROM dashboard_buckets b
WHERE b.level = 1 AND b.tz = %(tz)s
  AND b.stop <= {_instant(_QUARTER + " + interval '3 months'")}
ON CONFLICT (tz, level, start, stop) DO NOTHING
"""  # noqa: S608 (constants)
"""The quarters holding level-1 buckets (a pair of months across two quarters is in none)."""

ROLLUP_DIRTY_QUARTER_LIST: Final = f"""
SELECT q.id FROM dashboard_buckets q
WHERE q.level = 2 AND (q.dirty OR q.spec <> %(spec)s) AND NOT EXISTS (
    SELECT 1 FROM dashboard_buckets b WHERE {_INSIDE} AND (b.dirty OR b.spec <> %(spec)s))
ORDER BY q.start
"""  # noqa: S608 (constants)
"""The quarters to rebuild: out of date, every bucket inside them up to date."""

_CHILDREN: Final = f"""(SELECT b.id FROM dashboard_buckets b, dashboard_buckets q
    WHERE q.id = %(bucket)s AND {_INSIDE})"""  # noqa: S608 (constants)

ROLLUP_QUARTER: Final = [
    f"""INSERT INTO dashboard_rollup_cells (bucket, kind, name, scope, dim, grp, n, nx, y, x, yy,
        xy, xx)
    SELECT %(bucket)s, kind, name, scope, dim, grp, sum(n), sum(nx), sum(y), sum(x), sum(yy),
           sum(xy), sum(xx)
    FROM dashboard_rollup_cells WHERE bucket IN {_CHILDREN} GROUP BY 2, 3, 4, 5, 6""",  # noqa: S608 (constants)
    f"""INSERT INTO dashboard_rollup_periods
        (bucket, measure, ward, hospital, day, numerator, denominator)
    SELECT %(bucket)s, measure, ward, hospital, day, sum(numerator), sum(denominator)
    FROM dashboard_rollup_periods WHERE bucket IN {_CHILDREN} GROUP BY 2, 3, 4, 5""",  # noqa: S608
    f"""INSERT INTO dashboard_rollup_stays (bucket, ward, day, micros)
    SELECT %(bucket)s, ward, day, sum(micros)
    FROM dashboard_rollup_stays WHERE bucket IN {_CHILDREN} GROUP BY 2, 3""",  # noqa: S608
]
"""A quarter's rollups: the sums of those of the buckets inside it (whole numbers: exact)."""

ROLLUP_QUARTER_CHECK: Final = f"""
SELECT (SELECT count(*) FROM dashboard_buckets b WHERE {_INSIDE})
FROM dashboard_buckets q
WHERE q.id = %(bucket)s AND (q.dirty OR q.spec <> %(spec)s) AND NOT EXISTS (
    SELECT 1 FROM dashboard_buckets b WHERE {_INSIDE} AND (b.dirty OR b.spec <> %(spec)s))
"""  # noqa: S608 (constants)
"""A quarter still to rebuild (under the lock): the number of buckets inside it."""

ROLLUP_CLEAR: Final = [
    f"DELETE FROM {t} WHERE bucket = %(bucket)s"  # noqa: S608 (constants)
    for t in ("dashboard_rollup_cells", "dashboard_rollup_periods", "dashboard_rollup_stays")
]

ROLLUP_BUCKET_PATIENTS: Final = (
    "AND {column} IN (SELECT patient_id FROM dashboard_patients WHERE bucket = %(bucket)s)"
)
"""The `{patients}` condition of a bucket's rebuild: its patients."""

ROLLUP_CELLS: Final = """
INSERT INTO dashboard_rollup_cells (bucket, kind, name, scope, dim, grp, n, nx, y, x, yy, xy, xx)
SELECT %(bucket)s, * FROM ({cells}) c
"""
"""A bucket's equity cells: `POSTGRES_CELLS` over its patients, its window the bucket's, with
moments for every scope and sums for every scope."""

ROLLUP_PERIODS: Final = """
INSERT INTO dashboard_rollup_periods
    (bucket, measure, ward, hospital, day, numerator, denominator)
SELECT %(bucket)s, measure, ward, hospital,
       (%(day_starts)s::timestamptz[])[width_bucket(time, %(day_starts)s::timestamptz[])],
       sum(numerator), sum(denominator)
FROM dashboard_items
WHERE time >= %(since)s AND time < %(until)s AND coalesce(decided, time) < %(until)s {patients}
GROUP BY 2, 3, 4, 5
"""
"""A bucket's items summed by local day (`%(day_starts)s`: the starts of the bucket's days, by
Python's rules of the zone, as the windows' periods: `_postgres.local_days`; a period holds
whole local days)."""

ROLLUP_STAYS: Final = """
INSERT INTO dashboard_rollup_stays (bucket, ward, day, micros)
SELECT %(bucket)s, s.ward, d.day,
       sum(extract(epoch FROM least(s.end_time, d.stop) - greatest(s.start_time, d.day))
           * 1000000)::bigint
FROM dashboard_stays s
JOIN unnest(%(day_starts)s::timestamptz[], %(day_ends)s::timestamptz[]) AS d(day, stop)
  ON s.start_time < d.stop AND s.end_time > d.day
WHERE s.start_time < %(until)s AND s.end_time > %(since)s {patients}
GROUP BY 2, 3
"""
"""A bucket's stays' time by local day (`%(day_starts)s` to `%(day_ends)s`), in whole
microseconds (the days' pieces add up to each period's exactly)."""

ROLLUP_DONE: Final = (
    "UPDATE dashboard_buckets SET dirty = false, spec = %(spec)s WHERE id = %(bucket)s"
)
ROLLUP_DROP_EMPTY: Final = """
DELETE FROM dashboard_buckets b WHERE id = %(bucket)s
AND NOT EXISTS (SELECT 1 FROM dashboard_patients p WHERE p.bucket = b.id)
"""

# The window's side: the buckets it contains whole (clean, of its time zone and cell spec),
# the patients summed from items (pending, in no such bucket, and overlapping it), and the
# rollups' sums.

ROLLUP_USABLE: Final = """
SELECT id, level, start, stop FROM dashboard_buckets
WHERE NOT dirty AND tz = %(tz)s AND spec = %(spec)s AND start >= %(since)s AND stop <= %(until)s
"""

ROLLUP_RAW: Final = """
SELECT patient_id FROM dashboard_patients
WHERE pending OR ((bucket IS NULL OR bucket <> ALL(%(usable)s::bigint[]))
    AND first_time < %(until)s AND (last_time IS NULL OR last_time >= %(since)s))
"""
"""The patients a window sums from items: every one pending, and those in no usable bucket
whose times overlap it (an item counted has `since <= time < until` and `decided < until`,
its time within the footprint either way; a stay piece `start < until` and `end > since`)."""

ROLLUP_PERIOD_SUMS: Final = """
SELECT measure, ward, hospital, width_bucket(day, %(starts)s::timestamptz[]),
       sum(numerator), sum(denominator)
FROM dashboard_rollup_periods WHERE bucket = ANY(%(summed)s::bigint[])
GROUP BY 1, 2, 3, 4
"""

ROLLUP_STAY_SUMS: Final = """
SELECT s.ward, 'period', p.label, sum(s.micros)
FROM dashboard_rollup_stays s
JOIN unnest(%(labels)s::text[], %(starts)s::timestamptz[], %(stops)s::timestamptz[])
     AS p(label, start, stop) ON s.day >= p.start AND s.day < p.stop
WHERE s.bucket = ANY(%(summed)s::bigint[])
GROUP BY s.ward, p.label
"""

ROLLUP_CELL_SUMS: Final = """
SELECT kind, name, scope, dim, grp, sum(n), sum(nx), sum(y), sum(x), sum(yy), sum(xy), sum(xx)
FROM dashboard_rollup_cells
WHERE bucket = ANY(%(summed)s::bigint[])
  AND (kind = 's') <> (%(every)s::bool OR scope = ANY(%(scopes)s::text[]))
GROUP BY 1, 2, 3, 4, 5
"""
"""The usable buckets' cells (moments of the scopes shown, sums of the others); added to those
of the patients summed from items (`POSTGRES_CELLS`) by the store."""
