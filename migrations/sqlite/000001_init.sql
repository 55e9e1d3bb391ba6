-- Baton schema v1 for SQLite: all six ports in one file.
-- Every time is epoch milliseconds read by the process that holds the write lock (one host, one clock).
-- Tables are prefixed baton_ so they can live beside an application's own tables.

CREATE TABLE baton_tasks (
  id              TEXT    NOT NULL PRIMARY KEY,
  type            TEXT    NOT NULL,
  input           TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'scheduled', 'completed', 'dead', 'cancelled')),
  idempotency_key TEXT    NOT NULL,
  run_id          TEXT,
  phase_id        TEXT,
  attempt         INTEGER NOT NULL DEFAULT 0,
  max_retries     INTEGER NOT NULL,
  recoveries      INTEGER NOT NULL DEFAULT 0,
  budget          TEXT,
  usage_cost_usd  REAL    NOT NULL DEFAULT 0,
  usage_tokens    INTEGER NOT NULL DEFAULT 0,
  lease_id        TEXT,
  worker_id       TEXT,
  has_checkpoint  INTEGER NOT NULL DEFAULT 0,
  result          TEXT,
  error           TEXT,
  duration_ms     INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER
);
-- Listing by state and the reconciler's "pending and idle for N ms".
CREATE INDEX baton_tasks_state_updated ON baton_tasks (state, updated_at);
-- Retention: finished tasks by age within a terminal state.
CREATE INDEX baton_tasks_finished ON baton_tasks (state, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX baton_tasks_phase ON baton_tasks (phase_id, state) WHERE phase_id IS NOT NULL;
CREATE INDEX baton_tasks_run ON baton_tasks (run_id) WHERE run_id IS NOT NULL;

-- Idempotency keys live apart from tasks so a key can outlive or expire before its task:
-- a create replaces a key only once it expired.
CREATE TABLE baton_idempotency_keys (
  key        TEXT    NOT NULL PRIMARY KEY,
  task_id    TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX baton_idempotency_keys_expiry ON baton_idempotency_keys (expires_at);

-- At most one live delivery per task (task_id UNIQUE). seq is the rowid: FIFO among equal ready_at.
CREATE TABLE baton_deliveries (
  seq              INTEGER PRIMARY KEY,
  task_id          TEXT    NOT NULL UNIQUE,
  ready_at         INTEGER NOT NULL,
  lease_id         TEXT,
  lease_expires_at INTEGER
);
-- Claim path: unleased deliveries by readiness, oldest first.
CREATE INDEX baton_deliveries_ready ON baton_deliveries (ready_at) WHERE lease_id IS NULL;
-- Reclaim path: leases by expiry.
CREATE INDEX baton_deliveries_lease ON baton_deliveries (lease_expires_at) WHERE lease_id IS NOT NULL;

CREATE TABLE baton_checkpoints (
  task_id    TEXT    NOT NULL PRIMARY KEY,
  token      TEXT    NOT NULL,
  encoding   TEXT    NOT NULL CHECK (encoding IN ('json', 'gzip')),
  body       BLOB    NOT NULL,
  size_bytes INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- A timer is deleted when completed; claim_expires_at is set while one timer service holds it.
CREATE TABLE baton_timers (
  id               TEXT    NOT NULL PRIMARY KEY,
  kind             TEXT    NOT NULL CHECK (kind IN ('retry', 'timeout', 'cleanup', 'custom')),
  key              TEXT,
  task_id          TEXT,
  phase_id         TEXT,
  name             TEXT,
  payload          TEXT    NOT NULL,
  due_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  claim_expires_at INTEGER
);
CREATE UNIQUE INDEX baton_timers_key ON baton_timers (key) WHERE key IS NOT NULL;
-- Due path: unclaimed timers by due time; crashed claims by claim expiry.
CREATE INDEX baton_timers_due ON baton_timers (due_at) WHERE claim_expires_at IS NULL;
CREATE INDEX baton_timers_claimed ON baton_timers (claim_expires_at) WHERE claim_expires_at IS NOT NULL;
CREATE INDEX baton_timers_task ON baton_timers (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX baton_timers_phase ON baton_timers (phase_id) WHERE phase_id IS NOT NULL;

CREATE TABLE baton_heartbeats (
  id         TEXT    NOT NULL PRIMARY KEY,
  last_seen  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX baton_heartbeats_last_seen ON baton_heartbeats (last_seen);
CREATE INDEX baton_heartbeats_expiry ON baton_heartbeats (expires_at);

-- AUTOINCREMENT: seq never goes back, even after retention deleted the newest rows.
CREATE TABLE baton_events (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  id        TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  at        INTEGER NOT NULL,
  run_id    TEXT,
  phase_id  TEXT,
  task_id   TEXT,
  worker_id TEXT,
  data      TEXT    NOT NULL
);
CREATE INDEX baton_events_task ON baton_events (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX baton_events_run ON baton_events (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX baton_events_phase ON baton_events (phase_id) WHERE phase_id IS NOT NULL;
CREATE INDEX baton_events_at ON baton_events (at);
