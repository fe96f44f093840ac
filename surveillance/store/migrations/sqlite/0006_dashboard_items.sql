-- The safety dashboard's items (issue 16): every patient's measure items and stay pieces,
-- made from all of the patient's rows by `surveillance.dashboard.dashboard_items`, read for a
-- window by `Store.dashboard_sums` (and summed in Python: SQLite is the one-ward store).
-- `dashboard_dirty` lists the patients whose items are out of date: every write marks the
-- patients of its batch in the same transaction, and the refresh replaces their items and
-- clears the marks it read (a newer mark stays). `dashboard_mark` numbers the marks.

CREATE TABLE dashboard_items (
    patient_id  TEXT NOT NULL,
    measure     TEXT NOT NULL,
    time        TEXT NOT NULL,
    decided     TEXT,
    ward        TEXT NOT NULL,
    hospital    INTEGER NOT NULL,
    numerator   REAL NOT NULL,
    denominator REAL NOT NULL,
    value       REAL,
    sex         TEXT NOT NULL,
    ethnicity   TEXT NOT NULL,
    age         TEXT NOT NULL,
    imd         TEXT NOT NULL,
    needs       INTEGER NOT NULL
);
CREATE INDEX dashboard_items_time ON dashboard_items (time);
CREATE INDEX dashboard_items_ward_time ON dashboard_items (ward, time);
CREATE INDEX dashboard_items_patient ON dashboard_items (patient_id);

CREATE TABLE dashboard_stays (
    patient_id  TEXT NOT NULL,
    ward        TEXT NOT NULL,
    start_time  TEXT NOT NULL,
    end_time    TEXT,
    sex         TEXT NOT NULL,
    ethnicity   TEXT NOT NULL,
    age         TEXT NOT NULL,
    imd         TEXT NOT NULL,
    needs       INTEGER NOT NULL
);
CREATE INDEX dashboard_stays_start ON dashboard_stays (start_time);
CREATE INDEX dashboard_stays_patient ON dashboard_stays (patient_id);

CREATE TABLE dashboard_mark (mark INTEGER NOT NULL);
INSERT INTO dashboard_mark (mark) VALUES (0);
CREATE TABLE dashboard_dirty (
    patient_id TEXT PRIMARY KEY,
    mark       INTEGER NOT NULL
);
CREATE INDEX dashboard_dirty_by_mark ON dashboard_dirty (mark);

INSERT INTO dashboard_dirty (patient_id, mark)
SELECT patient_id, 0 FROM adt UNION SELECT patient_id, 0 FROM scores
UNION SELECT patient_id, 0 FROM alert_events UNION SELECT patient_id, 0 FROM clinical_events;
