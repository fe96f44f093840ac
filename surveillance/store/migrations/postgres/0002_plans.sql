-- Escalation plans (README, "Escalation plans"): every plan message as received, the audit of
-- who agreed which ceiling of care or threshold, when and why. The latest per patient is the
-- one in force.

CREATE TABLE plans (
    msg_id      text PRIMARY KEY,
    time        timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    ward        text NOT NULL,
    bed         text NOT NULL,
    patient_id  text NOT NULL,
    by          text NOT NULL,
    reason      text NOT NULL,
    plan        jsonb NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plans_patient_time ON plans (patient_id, time);
