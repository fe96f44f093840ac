-- Access to a patient's history is itself audited (issue 14): every reading of the patient
-- view's history records who read what (scores or alerts) of which patient, and the window.
-- Append-only: updates and deletes are refused by triggers.

CREATE TABLE history_access (
    access_id  TEXT PRIMARY KEY,
    time       TEXT NOT NULL,
    viewer     TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    what       TEXT NOT NULL,
    since      TEXT NOT NULL,
    stored_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX history_access_patient_time ON history_access (patient_id, time);
CREATE INDEX history_access_time ON history_access (time);

CREATE TRIGGER history_access_no_update BEFORE UPDATE ON history_access BEGIN SELECT RAISE(ABORT, 'history_access is append-only: UPDATE refused'); END;

CREATE TRIGGER history_access_no_delete BEFORE DELETE ON history_access BEGIN SELECT RAISE(ABORT, 'history_access is append-only: DELETE refused'); END;
