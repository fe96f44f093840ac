-- The initial schema (PostgreSQL). Plain tables: the unique key is the record's key alone, and
-- a BRIN index on `time` serves range scans of the append-mostly tables cheaply. When
-- TimescaleDB is present, the store converts `observations` and `scores` to hypertables after
-- this file (see _postgres.py): their unique keys then become (key, time).
-- `stored_at` records when the row was committed (audit); records never carry it.

CREATE TABLE adt (
    msg_id      text PRIMARY KEY,
    time        timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    ward        text NOT NULL,
    bed         text NOT NULL,
    patient_id  text NOT NULL,
    event       text NOT NULL,
    context     jsonb NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX adt_patient_time ON adt (patient_id, time);
CREATE INDEX adt_bed_time ON adt (ward, bed, time);
CREATE INDEX adt_received_at ON adt USING brin (received_at);

CREATE TABLE observations (
    msg_id       text NOT NULL,
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    ward         text NOT NULL,
    bed          text NOT NULL,
    patient_id   text NOT NULL,
    channel      text NOT NULL,
    source       text NOT NULL,
    vitals       jsonb NOT NULL,
    not_recorded jsonb NOT NULL,
    ignored      jsonb NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT observations_key UNIQUE (msg_id)
);
CREATE INDEX observations_patient_time ON observations (patient_id, time);
CREATE INDEX observations_time ON observations USING brin (time);
CREATE INDEX observations_received_at ON observations USING brin (received_at);

CREATE TABLE labs (
    msg_id      text PRIMARY KEY,
    time        timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    ward        text NOT NULL,
    bed         text NOT NULL,
    patient_id  text NOT NULL,
    test        text NOT NULL,
    value       double precision NOT NULL,
    unit        text NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX labs_patient_time ON labs (patient_id, time);
CREATE INDEX labs_received_at ON labs USING brin (received_at);

CREATE TABLE scores (
    obs_msg_id text NOT NULL,
    time       timestamptz NOT NULL,
    patient_id text NOT NULL,
    ward       text NOT NULL,
    bed        text NOT NULL,
    system     text NOT NULL,
    chart      text NOT NULL,
    total      integer NOT NULL,
    risk       text NOT NULL,
    complete   boolean NOT NULL,
    result     jsonb NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scores_key UNIQUE (obs_msg_id)
);
CREATE INDEX scores_patient_time ON scores (patient_id, time);
CREATE INDEX scores_time ON scores USING brin (time);

CREATE TABLE alert_events (
    alert_id   text NOT NULL,
    seq        integer NOT NULL,
    time       timestamptz NOT NULL,
    ward       text NOT NULL,
    bed        text NOT NULL,
    patient_id text NOT NULL,
    kind       text NOT NULL,
    severity   text NOT NULL,
    state      text NOT NULL,
    message    text NOT NULL,
    obs_msg_id text,
    event      jsonb NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, seq)
);
CREATE INDEX alert_events_patient_time ON alert_events (patient_id, time);
CREATE INDEX alert_events_ward_time ON alert_events (ward, time);

CREATE TABLE dead_letters (
    digest    text PRIMARY KEY,
    time      timestamptz NOT NULL,
    topic     text NOT NULL,
    error     text NOT NULL,
    reason    text NOT NULL,
    payload   text NOT NULL,
    encoding  text NOT NULL,
    msg_id    text,
    stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_time ON dead_letters USING brin (time);
