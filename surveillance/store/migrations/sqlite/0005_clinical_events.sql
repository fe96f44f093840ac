-- Clinical events and harms (CONTRACT §9, issue 15): rapid response calls, cardiac arrests,
-- unplanned ICU admissions, deaths, falls, pressure ulcers, sepsis treatment, medication
-- incidents. The outcomes the learned risk is judged on and the harms the safety dashboard
-- counts, so append-only like the history audit: updates and deletes are refused by triggers.
-- `time` is when it happened, `received_at` when the service had it.

CREATE TABLE clinical_events (
    msg_id      TEXT PRIMARY KEY,
    time        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ward        TEXT NOT NULL,
    bed         TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    category    INTEGER CHECK (category BETWEEN 1 AND 4),
    recorded_by TEXT,
    note        TEXT,
    stored_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX clinical_events_time ON clinical_events (time);
CREATE INDEX clinical_events_event_time ON clinical_events (event, time);
CREATE INDEX clinical_events_patient_time ON clinical_events (patient_id, time);
CREATE INDEX clinical_events_received_at ON clinical_events (received_at);

CREATE TRIGGER clinical_events_no_update BEFORE UPDATE ON clinical_events BEGIN SELECT RAISE(ABORT, 'clinical_events is append-only: UPDATE refused'); END;

CREATE TRIGGER clinical_events_no_delete BEFORE DELETE ON clinical_events BEGIN SELECT RAISE(ABORT, 'clinical_events is append-only: DELETE refused'); END;
