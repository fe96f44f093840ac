-- Patients whose dashboard items could not be made (the pure item code raised on their rows):
-- set aside by the refresh with the error, their items removed and their dirty mark cleared,
-- so that one bad row does not stall every other patient's refresh. A later write to the
-- patient marks them dirty again (they are retried); a refresh that makes their items removes
-- them from here. The dashboard counts them (`set_aside_patients`).

CREATE TABLE dashboard_set_aside (
    patient_id TEXT PRIMARY KEY,
    reason     TEXT NOT NULL
);
