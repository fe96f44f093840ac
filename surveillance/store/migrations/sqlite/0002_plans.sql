-- Escalation plans (README, "Escalation plans"): every plan message as received, the audit of
-- who agreed which ceiling of care or threshold, when and why. The latest per patient is the
-- one in force.

CREATE TABLE plans (
    msg_id      TEXT PRIMARY KEY,
    time        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ward        TEXT NOT NULL,
    bed         TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    by          TEXT NOT NULL,
    reason      TEXT NOT NULL,
    plan        TEXT NOT NULL,
    stored_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX plans_patient_time ON plans (patient_id, time);
