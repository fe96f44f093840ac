-- PostgreSQL's migration 0008 keeps rollups of settled patients' dashboard sums. SQLite keeps
-- none (it returns a window's items and Python sums them: one ward's store); it takes the
-- same number, so that both schemas have one version, and the median measures' index.

CREATE INDEX dashboard_items_values ON dashboard_items (measure, time) WHERE value IS NOT NULL;
