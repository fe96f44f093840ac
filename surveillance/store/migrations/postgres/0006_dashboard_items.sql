-- The safety dashboard's items (issue 16): every patient's measure items and stay pieces,
-- made from all of the patient's rows by `surveillance.dashboard.dashboard_items` and summed
-- by SQL for a window (`Store.dashboard_sums`), so that a dashboard reads sums, not rows.
-- `dashboard_dirty` lists the patients whose items are out of date: every write marks the
-- patients of its batch in the same transaction (a kill never loses a change), and the
-- refresh replaces their items and clears the marks it read (a newer mark stays).

CREATE TABLE dashboard_items (
    patient_id  text NOT NULL,
    measure     text NOT NULL,
    time        timestamptz NOT NULL,
    decided     timestamptz,
    ward        text NOT NULL,
    hospital    boolean NOT NULL,
    numerator   double precision NOT NULL,
    denominator double precision NOT NULL,
    value       double precision,
    sex         text NOT NULL,
    ethnicity   text NOT NULL,
    age         text NOT NULL,
    imd         text NOT NULL,
    needs       integer NOT NULL
);
CREATE INDEX dashboard_items_time ON dashboard_items (time);
CREATE INDEX dashboard_items_ward_time ON dashboard_items (ward, time);
CREATE INDEX dashboard_items_patient ON dashboard_items (patient_id);

CREATE TABLE dashboard_stays (
    patient_id  text NOT NULL,
    ward        text NOT NULL,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz,
    sex         text NOT NULL,
    ethnicity   text NOT NULL,
    age         text NOT NULL,
    imd         text NOT NULL,
    needs       integer NOT NULL
);
CREATE INDEX dashboard_stays_start ON dashboard_stays (start_time);
CREATE INDEX dashboard_stays_patient ON dashboard_stays (patient_id);

CREATE SEQUENCE dashboard_dirty_mark;
CREATE TABLE dashboard_dirty (
    patient_id text PRIMARY KEY,
    mark       bigint NOT NULL DEFAULT nextval('dashboard_dirty_mark')
);
CREATE INDEX dashboard_dirty_by_mark ON dashboard_dirty (mark);

-- Every patient already stored is out of date: the first refresh makes their items.
INSERT INTO dashboard_dirty (patient_id)
SELECT patient_id FROM adt UNION SELECT patient_id FROM scores
UNION SELECT patient_id FROM alert_events UNION SELECT patient_id FROM clinical_events;
