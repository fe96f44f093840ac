-- PostgreSQL's migration 0008 keeps rollups of settled patients' dashboard sums. SQLite keeps
-- none (it returns a window's items and Python sums them: one ward's store); it takes the
-- same number, so that both schemas have one version, and the median measures' index.

CREATE INDEX dashboard_items_values ON dashboard_items (measure, time) WHERE value IS NOT NULL;

-- The items of time to senior review now start at the trigger (the wait's upgrade to urgent or
-- above), not at its raise: every patient with items is made again by the next refresh.
INSERT OR IGNORE INTO dashboard_dirty (patient_id, mark)
SELECT patient_id, 0 FROM dashboard_items UNION SELECT patient_id, 0 FROM dashboard_stays;
