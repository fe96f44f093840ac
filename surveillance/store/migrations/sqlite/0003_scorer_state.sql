-- A restart changes nothing (issue 12): the online scorer's state is kept with every committed
-- batch, and so is every accepted message's id with a digest of its content.

-- Each accepted input's msg_id and content digest: a redelivery after a restart is known as a
-- repeat, the same id with other content as a conflict.
CREATE TABLE accepted (
    msg_id      TEXT PRIMARY KEY,
    digest      TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX accepted_received_at ON accepted (received_at);

-- The scorer's state as data, one row per patient in a bed (`patient:<id>`) and per bed
-- (`bed:<ward>/<bed>`), replaced by each batch that changes it, deleted on discharge.
CREATE TABLE scorer_state (
    key        TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Dead letters keep a bounded prefix of a payload: its size, digest and whether it was cut.
ALTER TABLE dead_letters ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN truncated BOOLEAN NOT NULL DEFAULT FALSE;

-- Results committed but not yet published (a transactional outbox): a service killed between
-- its commit and its publication publishes them at its next start. Deleted once published.
CREATE TABLE outbox (
    key     TEXT PRIMARY KEY,
    topic   TEXT NOT NULL,
    payload TEXT NOT NULL,
    retain  BOOLEAN NOT NULL
);
