-- Baton on PostgreSQL, schema version 1.
-- :SCHEMA: is replaced by the validated, quoted schema name (e.g. "baton").
-- Applied once, in its own transaction, under the migration advisory lock; the ledger
-- (:SCHEMA:.baton_migrations) records it. Forward-only: never edit a released file, add 000002_….

-- Task records and their state machine (the seed's `tasks`). One row per task; the row's
-- lease_id fences every write a worker makes (checkpoint, usage, completion). The task's queue
-- delivery lives in the same row (q_*), so a claim or a completion changes queue state and
-- task state in one row write.
CREATE TABLE :SCHEMA:.tasks (
  id               text PRIMARY KEY,
  -- Creation order: list() and purge page by it (created_at can tie within one statement).
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  type             text NOT NULL,
  input            jsonb NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'running', 'scheduled', 'completed', 'dead', 'cancelled')),
  idempotency_key  text NOT NULL,
  run_id           text,
  phase_id         text,
  attempt          integer NOT NULL DEFAULT 0,
  max_retries      integer NOT NULL DEFAULT 0,
  recoveries       integer NOT NULL DEFAULT 0,
  budget           jsonb,
  cost_usd         double precision NOT NULL DEFAULT 0,
  tokens           double precision NOT NULL DEFAULT 0,
  lease_id         text,
  worker_id        text,
  has_checkpoint   boolean NOT NULL DEFAULT false,
  result           jsonb,
  error            jsonb,
  duration_ms      double precision,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at       timestamptz,
  finished_at      timestamptz,
  -- The live delivery, if any: deliverable from q_ready_at; leased while q_lease_id is set.
  q_ready_at          timestamptz,
  q_lease_id          text,
  q_lease_expires_at  timestamptz,
  CHECK ((q_lease_id IS NULL) = (q_lease_expires_at IS NULL)),
  CHECK (q_lease_id IS NULL OR q_ready_at IS NOT NULL)
) WITH (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05);

-- Every state change rewrites the row and adds an entry to each index whose predicate the new
-- row meets, so the indexes are partial: a task is in at most one of the two state indexes.
-- Unfinished tasks by state in creation order: the reconciler (pending, idle), list({ states }),
-- active_tasks.
CREATE INDEX tasks_active_idx ON :SCHEMA:.tasks (state, seq) WHERE state IN ('pending', 'running', 'scheduled');
-- Finished tasks: purge() (oldest first / beyond the newest N) and list() of a terminal state.
CREATE INDEX tasks_finished_idx ON :SCHEMA:.tasks (state, finished_at, seq) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_run_idx ON :SCHEMA:.tasks (run_id, seq) WHERE run_id IS NOT NULL;
-- cancelPhase() and list({ phaseId }).
CREATE INDEX tasks_phase_idx ON :SCHEMA:.tasks (phase_id, seq) WHERE phase_id IS NOT NULL;
-- list() by type alone or with no filter reads the table in creation order: an admin query,
-- not worth an index entry on every state change.
-- claim(): ready deliveries, oldest first.
CREATE INDEX tasks_ready_idx ON :SCHEMA:.tasks (q_ready_at, seq) WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL;
-- reclaimExpired(): leases past their expiry (the stalled-task query).
CREATE INDEX tasks_leased_idx ON :SCHEMA:.tasks (q_lease_expires_at) WHERE q_lease_id IS NOT NULL;

-- Idempotency keys: key → task for keyTtlMs. Separate from tasks because a key may map to a
-- new task once its TTL passed, while the old task (same key) is still kept.
CREATE TABLE :SCHEMA:.idempotency_keys (
  key         text PRIMARY KEY,
  task_id     text NOT NULL,
  expires_at  timestamptz NOT NULL
);
-- Keys are written in roughly expiry order: a BRIN index finds the expired ones for retention
-- at almost no cost per insert.
CREATE INDEX idempotency_keys_expires_idx ON :SCHEMA:.idempotency_keys USING brin (expires_at);

-- Deliveries of task ids that have no row in tasks (the Queue port also serves task ids stored
-- elsewhere, e.g. a TaskStore in another system). Same rules as the q_* columns: one live
-- delivery per id, leased with FOR UPDATE SKIP LOCKED, gone only by ack/remove.
CREATE TABLE :SCHEMA:.deliveries (
  task_id           text PRIMARY KEY,
  seq               bigint GENERATED ALWAYS AS IDENTITY,
  ready_at          timestamptz NOT NULL,
  lease_id          text,
  lease_expires_at  timestamptz,
  enqueued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((lease_id IS NULL) = (lease_expires_at IS NULL))
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05);
CREATE INDEX deliveries_ready_idx ON :SCHEMA:.deliveries (ready_at, seq) WHERE lease_id IS NULL;
CREATE INDEX deliveries_lease_idx ON :SCHEMA:.deliveries (lease_expires_at) WHERE lease_id IS NOT NULL;

-- The claim: lease up to n ready deliveries, oldest first (SKIP LOCKED, so concurrent claimers
-- never wait on or share a row). Given a worker id it also moves each claimed pending task to
-- running under the same lease (TaskFlow.claimAndStart) — queue state and task state in one row
-- write — and returns the started rows; without one it only leases (Queue.claim). Each
-- delivery comes with its task's state before the claim (a task not pending is not started).
-- The planner settings pin the plan to index scans and nested loops: on a table without
-- statistics yet (a fresh schema under load) the planner would otherwise read and sort every
-- ready row on every claim.
CREATE FUNCTION :SCHEMA:.claim(n integer, lease_ms double precision, worker text)
RETURNS TABLE (
  task_id text, lease_id text, prior_state text, started boolean, ready_at double precision, ready_seq bigint,
  id text, type text, input text, state text, idempotency_key text, run_id text, phase_id text,
  attempt integer, max_retries integer, recoveries integer, budget text, cost_usd double precision,
  tokens double precision, worker_id text, has_checkpoint boolean, result text, error text,
  duration_ms double precision, created_at double precision, updated_at double precision,
  started_at double precision, finished_at double precision)
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
-- The disabled paths' cost penalties would otherwise trigger JIT compilation on every call.
SET jit = off
AS $fn$
#variable_conflict use_column
BEGIN
  -- A claim needs no fsync of its own: if a crash forgets it, the deliveries are simply claimed
  -- again (at-least-once), and any later durable write of the worker flushes it first.
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY
  WITH own AS (
    SELECT t.id, t.q_ready_at AS ready_at, t.seq, t.state FROM :SCHEMA:.tasks t
    WHERE t.q_ready_at <= now() AND t.q_lease_id IS NULL
    ORDER BY t.q_ready_at, t.seq
    LIMIT n
    FOR UPDATE SKIP LOCKED
  ), other AS (
    SELECT d.task_id AS id, d.ready_at, d.seq FROM :SCHEMA:.deliveries d
    WHERE d.ready_at <= now() AND d.lease_id IS NULL
    ORDER BY d.ready_at, d.seq
    LIMIT n
    FOR UPDATE SKIP LOCKED
  ), chosen AS MATERIALIZED (
    SELECT c.*, gen_random_uuid()::text AS lease, worker IS NOT NULL AND c.state = 'pending' AS start FROM (
      SELECT true AS mine, o.id, o.ready_at, o.seq, o.state FROM own o
      UNION ALL
      SELECT false, x.id, x.ready_at, x.seq, NULL::text FROM other x
      ORDER BY ready_at, seq
      LIMIT n
    ) c
  ), leased_own AS (
    UPDATE :SCHEMA:.tasks t
    SET q_lease_id = c.lease,
        q_lease_expires_at = clock_timestamp() + lease_ms * interval '1 millisecond',
        state = CASE WHEN c.start THEN 'running' ELSE t.state END,
        lease_id = CASE WHEN c.start THEN c.lease ELSE t.lease_id END,
        worker_id = CASE WHEN c.start THEN worker ELSE t.worker_id END,
        started_at = CASE WHEN c.start THEN now() ELSE t.started_at END,
        updated_at = CASE WHEN c.start THEN now() ELSE t.updated_at END
    FROM chosen c
    WHERE c.mine AND t.id = c.id
    RETURNING t.*, c.state AS prior, c.start AS started, c.lease AS delivery_lease, c.ready_at AS picked_ready_at, c.seq AS picked_seq
  ), leased_other AS (
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = c.lease, lease_expires_at = clock_timestamp() + lease_ms * interval '1 millisecond'
    FROM chosen c
    WHERE NOT c.mine AND d.task_id = c.id
    RETURNING d.task_id, d.lease_id, d.ready_at, d.seq
  ), started_other AS (
    -- A task row created after its id was enqueued: start it like any other.
    UPDATE :SCHEMA:.tasks t
    SET state = 'running', lease_id = l.lease_id, worker_id = worker, started_at = now(), updated_at = now()
    FROM leased_other l
    WHERE worker IS NOT NULL AND t.id = ANY(ARRAY(SELECT task_id FROM leased_other)) AND t.id = l.task_id AND t.state = 'pending'
    RETURNING t.*
  )
  SELECT s.id, s.delivery_lease, s.prior, s.started, date_part('epoch', s.picked_ready_at), s.picked_seq,
    s.id, s.type, s.input::text, s.state, s.idempotency_key, s.run_id, s.phase_id,
    s.attempt, s.max_retries, s.recoveries, s.budget::text, s.cost_usd,
    s.tokens, s.worker_id, s.has_checkpoint, s.result::text, s.error::text,
    s.duration_ms, floor(date_part('epoch', s.created_at) * 1000), floor(date_part('epoch', s.updated_at) * 1000),
    floor(date_part('epoch', s.started_at) * 1000), floor(date_part('epoch', s.finished_at) * 1000)
  FROM leased_own s
  UNION ALL
  SELECT l.task_id, l.lease_id,
    CASE WHEN s.id IS NULL THEN (SELECT p.state FROM :SCHEMA:.tasks p WHERE p.id = l.task_id) ELSE 'pending' END,
    s.id IS NOT NULL, date_part('epoch', l.ready_at), l.seq,
    s.id, s.type, s.input::text, s.state, s.idempotency_key, s.run_id, s.phase_id,
    s.attempt, s.max_retries, s.recoveries, s.budget::text, s.cost_usd,
    s.tokens, s.worker_id, s.has_checkpoint, s.result::text, s.error::text,
    s.duration_ms, floor(date_part('epoch', s.created_at) * 1000), floor(date_part('epoch', s.updated_at) * 1000),
    floor(date_part('epoch', s.started_at) * 1000), floor(date_part('epoch', s.finished_at) * 1000)
  FROM leased_other l
  LEFT JOIN started_other s ON s.id = l.task_id
  ORDER BY 5, 6;
END
$fn$;

-- One checkpoint per task, newest save wins. 'json' checkpoints are kept in a json column:
-- queryable by a DBA (data->'step') yet returned byte for byte as saved, which JSONB (key
-- reordering, reformatting) could not promise. 'gzip' ones are the compressed bytes.
-- Removed with the task.
CREATE TABLE :SCHEMA:.checkpoints (
  task_id       text PRIMARY KEY REFERENCES :SCHEMA:.tasks (id) ON DELETE CASCADE,
  token         text NOT NULL,
  encoding      text NOT NULL CHECK (encoding IN ('json', 'gzip')),
  data          json,
  body          bytea,
  -- JSON size before compression, and the size of what is stored.
  size_bytes    integer NOT NULL,
  stored_bytes  integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (data IS NOT NULL OR body IS NOT NULL)
);
-- gzip bodies are already compressed: don't let TOAST try again.
ALTER TABLE :SCHEMA:.checkpoints ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX checkpoints_updated_idx ON :SCHEMA:.checkpoints (updated_at);

-- Append-only audit trail. seq is assigned under an advisory lock, so it follows commit order
-- and one append's events are contiguous.
CREATE TABLE :SCHEMA:.events (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id         text NOT NULL,
  type       text NOT NULL,
  at         timestamptz NOT NULL,
  run_id     text,
  phase_id   text,
  task_id    text,
  worker_id  text,
  data       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_task_idx ON :SCHEMA:.events (task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX events_run_idx ON :SCHEMA:.events (run_id, seq) WHERE run_id IS NOT NULL;
CREATE INDEX events_phase_idx ON :SCHEMA:.events (phase_id, seq) WHERE phase_id IS NOT NULL;
-- Queries by type: the three events every task writes are everywhere in seq order (a scan finds
-- them at once), so only the other types pay for an index entry.
CREATE INDEX events_type_idx ON :SCHEMA:.events (type, seq) WHERE type NOT IN ('task.enqueued', 'task.started', 'task.completed');
-- `at` grows with seq, so a BRIN index serves since-queries and cleanup at almost no write cost.
CREATE INDEX events_at_idx ON :SCHEMA:.events USING brin (at);

-- Durable timers: retries, phase timeouts, cleanups, custom actions. A claim hides a timer
-- until claimed_until; complete() stamps fired_at (kept for audit until cleanup_fired_timers).
CREATE TABLE :SCHEMA:.timers (
  id             text PRIMARY KEY,
  kind           text NOT NULL CHECK (kind IN ('retry', 'timeout', 'cleanup', 'custom')),
  key            text,
  task_id        text,
  phase_id       text,
  name           text,
  payload        jsonb NOT NULL DEFAULT 'null'::jsonb,
  due_at         timestamptz NOT NULL,
  claimed_until  timestamptz,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  fired_at       timestamptz
);
-- While a timer with a key is pending, the key is taken.
CREATE UNIQUE INDEX timers_key_idx ON :SCHEMA:.timers (key) WHERE fired_at IS NULL AND key IS NOT NULL;
-- claimDue() / nextDueIn(): pending timers by due time (the due-timer query).
CREATE INDEX timers_due_idx ON :SCHEMA:.timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX timers_task_idx ON :SCHEMA:.timers (task_id) WHERE fired_at IS NULL AND task_id IS NOT NULL;
CREATE INDEX timers_phase_idx ON :SCHEMA:.timers (phase_id) WHERE fired_at IS NULL AND phase_id IS NOT NULL;
CREATE INDEX timers_fired_idx ON :SCHEMA:.timers (fired_at) WHERE fired_at IS NOT NULL;

-- Liveness of workers and tasks; an entry counts until expires_at (its TTL).
CREATE TABLE :SCHEMA:.heartbeats (
  id          text PRIMARY KEY,
  last_seen   timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX heartbeats_last_seen_idx ON :SCHEMA:.heartbeats (last_seen);
CREATE INDEX heartbeats_expires_idx ON :SCHEMA:.heartbeats (expires_at);

-- Running tasks with their heartbeat status: the delivery lease (database clock) decides when
-- the queue lives here; otherwise the newest heartbeat of the task or its worker (heartbeat
-- ids as the engine writes them: `task:<id>`, `worker:<id>`).
CREATE VIEW :SCHEMA:.active_tasks AS
SELECT
  t.id,
  t.type,
  t.run_id,
  t.phase_id,
  t.worker_id,
  t.lease_id,
  t.attempt,
  t.recoveries,
  t.has_checkpoint,
  t.started_at,
  t.updated_at,
  now() - t.started_at AS running_for,
  t.q_lease_expires_at AS lease_expires_at,
  greatest(hb_task.last_seen, hb_worker.last_seen) AS last_heartbeat,
  CASE
    WHEN t.q_lease_id = t.lease_id AND t.q_lease_expires_at > now() THEN 'healthy'
    WHEN t.q_lease_id = t.lease_id THEN 'stalled'
    WHEN greatest(hb_task.expires_at, hb_worker.expires_at) > now() THEN 'healthy'
    WHEN greatest(hb_task.expires_at, hb_worker.expires_at) IS NOT NULL THEN 'stalled'
    ELSE 'unknown'
  END AS heartbeat_status
FROM :SCHEMA:.tasks t
LEFT JOIN :SCHEMA:.heartbeats hb_task ON hb_task.id = 'task:' || t.id
LEFT JOIN :SCHEMA:.heartbeats hb_worker ON hb_worker.id = 'worker:' || t.worker_id
WHERE t.state = 'running';

CREATE VIEW :SCHEMA:.task_stats_by_phase AS
SELECT
  t.phase_id,
  count(*) AS total,
  count(*) FILTER (WHERE t.state = 'pending') AS pending,
  count(*) FILTER (WHERE t.state = 'running') AS running,
  count(*) FILTER (WHERE t.state = 'scheduled') AS scheduled,
  count(*) FILTER (WHERE t.state = 'completed') AS completed,
  count(*) FILTER (WHERE t.state = 'dead') AS dead,
  count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled,
  sum(t.cost_usd) AS cost_usd,
  sum(t.tokens) AS tokens,
  avg(t.duration_ms) AS avg_duration_ms,
  sum(t.attempt) AS failed_runs,
  sum(t.recoveries) AS recoveries,
  min(t.created_at) AS first_created_at,
  max(t.finished_at) AS last_finished_at
FROM :SCHEMA:.tasks t
GROUP BY t.phase_id;

CREATE VIEW :SCHEMA:.pending_timers AS
SELECT
  t.id,
  t.kind,
  t.key,
  t.task_id,
  t.phase_id,
  t.name,
  t.due_at,
  t.due_at - now() AS due_in,
  t.claimed_until,
  t.created_at
FROM :SCHEMA:.timers t
WHERE t.fired_at IS NULL
ORDER BY t.due_at;

-- Cleanup for DBAs and cron jobs; each returns how many rows it removed.
CREATE FUNCTION :SCHEMA:.cleanup_old_checkpoints(days integer) RETURNS bigint
LANGUAGE sql AS $fn$
  WITH gone AS (
    DELETE FROM :SCHEMA:.checkpoints WHERE updated_at < now() - make_interval(days => days) RETURNING task_id
  ), flag AS (
    UPDATE :SCHEMA:.tasks t SET has_checkpoint = false FROM gone WHERE t.id = gone.task_id
  )
  SELECT count(*) FROM gone;
$fn$;

CREATE FUNCTION :SCHEMA:.cleanup_old_events(days integer) RETURNS bigint
LANGUAGE sql AS $fn$
  WITH gone AS (
    DELETE FROM :SCHEMA:.events WHERE at < now() - make_interval(days => days) RETURNING 1
  )
  SELECT count(*) FROM gone;
$fn$;

CREATE FUNCTION :SCHEMA:.cleanup_fired_timers(days integer) RETURNS bigint
LANGUAGE sql AS $fn$
  WITH gone AS (
    DELETE FROM :SCHEMA:.timers WHERE fired_at < now() - make_interval(days => days) RETURNING 1
  )
  SELECT count(*) FROM gone;
$fn$;
