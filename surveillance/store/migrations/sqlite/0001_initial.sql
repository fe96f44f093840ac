-- The initial schema (SQLite). Times are ISO-8601 UTC text with microseconds and a `Z`
-- (`2026-11-22T09:30:00.000000Z`): fixed width, so text order is time order. JSON is text.
-- `stored_at` records when the row was committed (audit); records never carry it.

CREATE TABLE adt (
    msg_id      TEXT PRIMARY KEY,
    time        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ward        TEXT NOT NULL,
    bed         TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    context     TEXT NOT NULL,
    stored_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX adt_patient_time ON adt (patient_id, time);
CREATE INDEX adt_bed_time ON adt (ward, bed, time);
CREATE INDEX adt_received_at ON adt (received_at);

CREATE TABLE observations (
    msg_id       TEXT PRIMARY KEY,
    time         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    ward         TEXT NOT NULL,
    bed          TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,
    vitals       TEXT NOT NULL,
    not_recorded TEXT NOT NULL,
    ignored      TEXT NOT NULL,
    stored_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX observations_patient_time ON observations (patient_id, time);
CREATE INDEX observations_received_at ON observations (received_at);

CREATE TABLE labs (
    msg_id      TEXT PRIMARY KEY,
    time        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ward        TEXT NOT NULL,
    bed         TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    test        TEXT NOT NULL,
    value       REAL NOT NULL,
    unit        TEXT NOT NULL,
    stored_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX labs_patient_time ON labs (patient_id, time);
CREATE INDEX labs_received_at ON labs (received_at);

CREATE TABLE scores (
    obs_msg_id TEXT PRIMARY KEY,
    time       TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    ward       TEXT NOT NULL,
    bed        TEXT NOT NULL,
    system     TEXT NOT NULL,
    chart      TEXT NOT NULL,
    total      INTEGER NOT NULL,
    risk       TEXT NOT NULL,
    complete   INTEGER NOT NULL,
    result     TEXT NOT NULL,
    stored_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX scores_patient_time ON scores (patient_id, time);

CREATE TABLE alert_events (
    alert_id   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    time       TEXT NOT NULL,
    ward       TEXT NOT NULL,
    bed        TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    state      TEXT NOT NULL,
    message    TEXT NOT NULL,
    obs_msg_id TEXT,
    event      TEXT NOT NULL,
    stored_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (alert_id, seq)
);
CREATE INDEX alert_events_patient_time ON alert_events (patient_id, time);
CREATE INDEX alert_events_ward_time ON alert_events (ward, time);

CREATE TABLE dead_letters (
    digest    TEXT PRIMARY KEY,
    time      TEXT NOT NULL,
    topic     TEXT NOT NULL,
    error     TEXT NOT NULL,
    reason    TEXT NOT NULL,
    payload   TEXT NOT NULL,
    encoding  TEXT NOT NULL,
    msg_id    TEXT,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX dead_letters_time ON dead_letters (time);
