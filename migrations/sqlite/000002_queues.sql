-- Baton schema v2 for SQLite: named queues with priorities and groups, fleet-wide queue settings
-- (pause, concurrency, rate limit, group concurrency), run progress, task heartbeats, trace
-- context, quarantine of undecodable records, and the coordination store.
-- Upgrades a v1 file in place: its tasks and deliveries land in queue 'default' at priority 0.

ALTER TABLE baton_tasks ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE baton_tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE baton_tasks ADD COLUMN group_key TEXT;
-- JSON of the last reportProgress value; NULL: none.
ALTER TABLE baton_tasks ADD COLUMN progress TEXT;
ALTER TABLE baton_tasks ADD COLUMN heartbeat_at INTEGER;
-- JSON object of propagation fields (a W3C traceparent); NULL: none.
ALTER TABLE baton_tasks ADD COLUMN trace_context TEXT;
-- JSON { field, reason, raw } once the task was quarantined because a column could not be decoded.
-- The undecodable bytes stay in their own column.
ALTER TABLE baton_tasks ADD COLUMN corruption TEXT;
-- A v1 task running at the upgrade has not beaten since its start as far as this schema knows.
UPDATE baton_tasks SET heartbeat_at = coalesce(started_at, updated_at) WHERE state = 'running';

ALTER TABLE baton_deliveries ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE baton_deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE baton_deliveries ADD COLUMN group_key TEXT;
-- Claim path: a queue's unleased deliveries, highest priority first, then readiness, then
-- enqueue order (seq). A claim reads each queue it serves from the head of this index.
DROP INDEX baton_deliveries_ready;
CREATE INDEX baton_deliveries_claim ON baton_deliveries (queue, priority DESC, ready_at, seq) WHERE lease_id IS NULL;
-- Limits: leased deliveries per queue and group, counted at claim time (at most the cap's worth).
CREATE INDEX baton_deliveries_leased ON baton_deliveries (queue, group_key) WHERE lease_id IS NOT NULL;

-- A row per queue that was configured; a queue without one has the defaults (no limits).
-- rate_origin and rate_tat are the rate limit's token bucket (GCRA): the backend ms the count
-- starts from, and when the next claim is due in units of 1/rate_max ms since then.
CREATE TABLE baton_queues (
  name              TEXT    NOT NULL PRIMARY KEY,
  paused            INTEGER NOT NULL DEFAULT 0,
  concurrency       INTEGER,
  rate_max          INTEGER,
  rate_per_ms       INTEGER,
  rate_origin       INTEGER NOT NULL DEFAULT 0,
  rate_tat          INTEGER NOT NULL DEFAULT 0,
  group_concurrency INTEGER
) WITHOUT ROWID;

-- Small shared documents under compare-and-set (the fleet-wide circuit breakers).
CREATE TABLE baton_coordination (
  key     TEXT    NOT NULL PRIMARY KEY,
  value   TEXT    NOT NULL,
  version INTEGER NOT NULL
) WITHOUT ROWID;
