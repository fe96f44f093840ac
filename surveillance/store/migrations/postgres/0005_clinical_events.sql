-- Clinical events and harms (CONTRACT §9, issue 15): rapid response calls, cardiac arrests,
-- unplanned ICU admissions, deaths, falls, pressure ulcers, sepsis treatment, medication
-- incidents. The outcomes the learned risk is judged on and the harms the safety dashboard
-- counts, so append-only like the history audit: updates, deletes and truncation are refused
-- by triggers. `time` is when it happened, `received_at` when the service had it.

CREATE TABLE clinical_events (
    msg_id      text PRIMARY KEY,
    time        timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    ward        text NOT NULL,
    bed         text NOT NULL,
    patient_id  text NOT NULL,
    event       text NOT NULL,
    category    integer CHECK (category BETWEEN 1 AND 4),
    recorded_by text,
    note        text,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clinical_events_time ON clinical_events (time);
CREATE INDEX clinical_events_event_time ON clinical_events (event, time);
CREATE INDEX clinical_events_patient_time ON clinical_events (patient_id, time);
CREATE INDEX clinical_events_received_at ON clinical_events (received_at);

CREATE FUNCTION clinical_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'clinical_events is append-only: % refused', TG_OP; END $$;

CREATE TRIGGER clinical_events_append_only BEFORE UPDATE OR DELETE ON clinical_events
    FOR EACH ROW EXECUTE FUNCTION clinical_events_append_only();

CREATE TRIGGER clinical_events_no_truncate BEFORE TRUNCATE ON clinical_events
    FOR EACH STATEMENT EXECUTE FUNCTION clinical_events_append_only();
