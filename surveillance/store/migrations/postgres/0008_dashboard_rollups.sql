-- Rollups of the safety dashboard's sums (issue 16's speed): a dashboard of a year sums a few
-- dozen buckets' rows, not two million items, for the patients whose whole stay lies inside it.
--
-- A patient is *settled* in a bucket when every item of theirs (its time and the time it was
-- decided) and every stay piece (its start and end; none still open) lies in one or two
-- consecutive calendar months of the dashboard's time zone: the bucket [start, stop). A window
-- that contains a bucket counts each of its patients whole, so the bucket's sums, moments and
-- per-day sums are those patients' share of the window, exactly (whole numbers throughout).
-- The other patients of a window (at its edges, still in hospital, not yet assigned) are
-- summed from their items as before. See surveillance/store/_dashboard_sql.py.
--
-- Invariant: a bucket that is not `dirty` holds the sums of exactly the patients whose
-- `bucket` it is, from their current items, summed with the cell spec `spec`. Replacing a
-- patient's items marks their bucket dirty and the patient `pending` (summed from items until
-- assigned again); the rollup refresh assigns pending patients to buckets and rebuilds dirty
-- buckets. Both take the advisory lock `ROLLUP_LOCK` in their transactions.

-- Level 1: the buckets patients settle in. Level 2: a calendar quarter, the sums of the
-- level-1 buckets inside it (a year's window adds 4 quarters and the pairs across them, not
-- 23 buckets); dirty whenever one of them is, rebuilt once they all are clean.
CREATE TABLE dashboard_buckets (
    id     bigserial PRIMARY KEY,
    tz     text NOT NULL,
    level  smallint NOT NULL DEFAULT 1,
    start  timestamptz NOT NULL,
    stop   timestamptz NOT NULL,
    spec   text NOT NULL DEFAULT '',
    dirty  boolean NOT NULL DEFAULT true,
    UNIQUE (tz, level, start, stop)
);

CREATE TABLE dashboard_patients (
    patient_id text PRIMARY KEY,
    first_time timestamptz,  -- earliest item or stay start (NULL: none)
    last_time  timestamptz,  -- latest item time or decision, or stay end (NULL: a stay open, or none)
    bucket     bigint,       -- NULL: in no bucket (summed from items whenever it overlaps)
    pending    boolean NOT NULL DEFAULT true  -- items replaced since assigned: always summed from items
);
CREATE INDEX dashboard_patients_bucket ON dashboard_patients (bucket);
CREATE INDEX dashboard_patients_pending ON dashboard_patients (patient_id) WHERE pending;

CREATE TABLE dashboard_rollup_cells (
    bucket bigint NOT NULL,
    kind   text NOT NULL,
    name   text NOT NULL,
    scope  text NOT NULL,
    dim    text NOT NULL,
    grp    text NOT NULL,
    n      bigint,
    nx     bigint,
    y      bigint,   -- whole numbers (counts; stays in microseconds): summed in 128 bits
    x      bigint,
    yy     numeric,  -- squares (of microseconds) overflow 64 bits
    xy     numeric,
    xx     numeric
);
CREATE INDEX dashboard_rollup_cells_bucket ON dashboard_rollup_cells (bucket);

CREATE TABLE dashboard_rollup_periods (
    bucket      bigint NOT NULL,
    measure     text NOT NULL,
    ward        text NOT NULL,
    hospital    boolean NOT NULL,
    day         timestamptz NOT NULL,  -- the local midnight starting the items' day
    numerator   double precision NOT NULL,
    denominator double precision NOT NULL
);
CREATE INDEX dashboard_rollup_periods_bucket ON dashboard_rollup_periods (bucket);

CREATE TABLE dashboard_rollup_stays (
    bucket bigint NOT NULL,
    ward   text NOT NULL,
    day    timestamptz NOT NULL,
    micros bigint NOT NULL
);
CREATE INDEX dashboard_rollup_stays_bucket ON dashboard_rollup_stays (bucket);

-- The median measures' values are read item by item: by measure and time, not every item.
CREATE INDEX dashboard_items_values ON dashboard_items (measure, time) WHERE value IS NOT NULL;

-- Every patient with items is pending: the first rollup refresh assigns them.
INSERT INTO dashboard_patients (patient_id)
SELECT patient_id FROM dashboard_items UNION SELECT patient_id FROM dashboard_stays;

-- The items of time to senior review now start at the trigger (the wait's upgrade to urgent or
-- above), not at its raise: every patient with items is made again by the next refresh.
INSERT INTO dashboard_dirty (patient_id) SELECT patient_id FROM dashboard_patients
ON CONFLICT (patient_id) DO NOTHING;
