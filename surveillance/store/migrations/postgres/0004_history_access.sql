-- Access to a patient's history is itself audited (issue 14): every reading of the patient
-- view's history records who read what (scores or alerts) of which patient, and the window.
-- Append-only: updates and deletes are refused by a trigger, so the audit cannot be edited
-- through the service's own connection.

CREATE TABLE history_access (
    access_id  text PRIMARY KEY,
    time       timestamptz NOT NULL,
    viewer     text NOT NULL,
    patient_id text NOT NULL,
    what       text NOT NULL,
    since      timestamptz NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX history_access_patient_time ON history_access (patient_id, time);
CREATE INDEX history_access_time ON history_access (time);

CREATE FUNCTION history_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'history_access is append-only: % refused', TG_OP; END $$;

CREATE TRIGGER history_access_append_only BEFORE UPDATE OR DELETE ON history_access
    FOR EACH ROW EXECUTE FUNCTION history_access_append_only();

CREATE TRIGGER history_access_no_truncate BEFORE TRUNCATE ON history_access
    FOR EACH STATEMENT EXECUTE FUNCTION history_access_append_only();
