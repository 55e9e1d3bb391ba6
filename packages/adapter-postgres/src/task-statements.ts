// The TaskStore's statements: checked translations of core's task-transitions.ts (the table at
// its top), one statement per batch. Every lease-holder write is fenced by `lease_id` in its
// WHERE clause; every write appends the events handed to it in the same statement, iff it
// applied. Statements that find tasks by an id array test the state through `stateIs`, an
// opaque form the planner cannot pair with the state index (a bitmap AND that reads every
// running task): the ids alone pick the rows, whatever the statistics say.
import { ms } from './db.js';
import { SEQ, handedEvents } from './event-rows.js';
import { taskColumns } from './task-rows.js';

export const stateIs = (t: string, value: string): string => `(${t}.state || '') = ${value}`;

/** CTE `o`: the outcomes of a finish (task_id, lease_id, state, duration_ms, …, result, error, i) from $1 (scalars), $2 (result texts), $3 (error texts, '' = none). */
export const OUTCOMES = (extraColumns = '', extraNames = ''): string => `o AS (
    SELECT * FROM ROWS FROM (
      json_to_recordset($1::json) AS (task_id text, lease_id text, state text, duration_ms float8${extraColumns}),
      unnest(string_to_array($2, chr(30))),
      unnest(string_to_array($3, chr(30)))
    ) WITH ORDINALITY AS o(task_id, lease_id, state, duration_ms${extraNames}, result, error, i)
  )`;

/** transitions.finish as SQL (`o` the outcome, `t` the row); shared with finishAndSettle. */
export const OUTCOME_SET = `
        state = o.state,
        lease_id = NULL,
        worker_id = NULL,
        heartbeat_at = NULL,
        updated_at = now(),
        result = CASE WHEN o.state = 'completed' THEN o.result ELSE t.result END,
        error = CASE WHEN o.state = 'completed' THEN NULL WHEN o.state = 'pending' THEN t.error ELSE coalesce(nullif(o.error, ''), t.error) END,
        duration_ms = CASE WHEN o.state = 'pending' THEN t.duration_ms ELSE coalesce(o.duration_ms, t.duration_ms) END,
        attempt = t.attempt + CASE WHEN o.state = 'scheduled' THEN 1 ELSE 0 END,
        finished_at = CASE WHEN o.state IN ('completed', 'dead') THEN now() ELSE t.finished_at END`;

/** The `task.started` rows a start appends (transitions.startedEvent) for CTE `s` ordered by `s.c_i`. */
export const startedEvents = (from: string, when: string): string => `
    INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
    SELECT ${SEQ('s.c_i - 1')}, gen_random_uuid()::text, 'task.started',
      date_trunc('milliseconds', s.updated_at), s.run_id, s.phase_id, s.id, s.worker_id,
      json_build_object('attempt', s.attempt, 'recoveries', s.recoveries, 'queue', s.queue)::text
    FROM ${from} s
    WHERE ${when}`;

export const taskSql = (channel: string) => ({
  // $1 scalars, $2 input texts, $3 trace-context texts ('' = none), $4/$5 events. delay_ms null:
  // create only (TaskStore.create); a number: also enqueue with that delay in the same row
  // write (TaskFlow.createAndEnqueue), announcing each queue that got work.
  create: `
    WITH src AS (
      SELECT * FROM ROWS FROM (
        json_to_recordset($1::json) AS (id text, type text, queue text, priority integer, group_key text, key text, ttl_ms float8,
          run_id text, phase_id text, max_retries integer, budget json, delay_ms float8),
        unnest(string_to_array($2, chr(30))),
        unnest(string_to_array($3, chr(30)))
      ) WITH ORDINALITY AS x(id, type, queue, priority, group_key, key, ttl_ms, run_id, phase_id, max_retries, budget, delay_ms, input, trace, i)
    ), claimed AS (
      INSERT INTO :SCHEMA:.idempotency_keys AS k (key, task_id, expires_at)
      SELECT s.key, s.id, clock_timestamp() + s.ttl_ms * interval '1 millisecond' FROM src s ORDER BY s.i
      ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at
        WHERE k.expires_at <= clock_timestamp()
      RETURNING k.key, k.task_id
    ), created AS (
      INSERT INTO :SCHEMA:.tasks (id, type, queue, priority, group_key, input, idempotency_key, run_id, phase_id, max_retries,
        budget, trace_context, created_at, updated_at, q_ready_at)
      SELECT s.id, s.type, s.queue, s.priority, s.group_key, s.input, s.key, s.run_id, s.phase_id, s.max_retries,
        nullif(s.budget::text, 'null'), nullif(s.trace, ''), statement_timestamp(), statement_timestamp(),
        statement_timestamp() + s.delay_ms * interval '1 millisecond'
      FROM src s JOIN claimed c ON c.key = s.key AND c.task_id = s.id
      ORDER BY s.i
      RETURNING id, run_id, phase_id, queue, q_ready_at IS NOT NULL AS queued
    ), applied AS (
      SELECT s.i, c.run_id, c.phase_id FROM created c JOIN src s ON s.id = c.id
    ), ${handedEvents('applied', '$4', '$5')}, announced AS (
      SELECT pg_notify('${channel}', q.queue) FROM (SELECT DISTINCT c.queue FROM created c WHERE c.queued) q
    )
    SELECT s.i, c.task_id AS created,
      CASE WHEN c.task_id IS NULL THEN (SELECT k.task_id FROM :SCHEMA:.idempotency_keys k WHERE k.key = s.key) END AS existing,
      (SELECT count(*) FROM announced) AS announced
    FROM src s LEFT JOIN claimed c ON c.key = s.key
    ORDER BY s.i`,
  // A concurrent create committed the key after our statement's snapshot: read it now.
  existingKeys: `SELECT key, task_id FROM :SCHEMA:.idempotency_keys WHERE key = ANY($1::text[])`,
  get: `SELECT ${taskColumns('t')} FROM :SCHEMA:.tasks t WHERE t.id = $1`,
  // transitions.start; with $4, transitions.startedEvent for each task started. It commits
  // asynchronously, as the claim does: a start (and its event) that a server crash forgets
  // leaves the task pending, its delivery lease expires and the task is claimed again; any later
  // durable write of the worker (a flushed checkpoint, the finish) flushes the start first.
  // set_config(…, true) lasts until this statement's own transaction ends.
  start: `
    WITH c AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS c(task_id, lease_id, worker_id, i)
      WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL
    ), started AS (
      UPDATE :SCHEMA:.tasks t
      SET state = 'running', lease_id = c.lease_id, worker_id = c.worker_id, started_at = now(), heartbeat_at = now(), updated_at = now()
      FROM c
      WHERE t.id = ANY($1::text[]) AND t.id = c.task_id AND ${stateIs('t', `'pending'`)}
      RETURNING t.*, c.i AS c_i
    ), ev AS (${startedEvents('started', '$4::boolean')}
    )
    SELECT c.task_id AS claim_id, s.id IS NOT NULL AS started, p.state AS prior_state, p.lease_id AS prior_lease, ${taskColumns('s')}
    FROM c LEFT JOIN started s ON s.c_i = c.i LEFT JOIN :SCHEMA:.tasks p ON p.id = c.task_id
    ORDER BY c.i`,
  // transitions.finish, fenced; $4 the ids, $5/$6 events.
  finish: `
    WITH ${OUTCOMES()}, done AS (
      UPDATE :SCHEMA:.tasks t
      SET ${OUTCOME_SET}
      FROM o
      WHERE t.id = ANY($4::text[]) AND t.id = o.task_id AND t.lease_id = o.lease_id AND ${stateIs('t', `'running'`)}
      RETURNING t.id AS task_id, o.lease_id, o.i, t.run_id, t.phase_id
    ), ${handedEvents('done', '$5', '$6')}
    SELECT task_id, lease_id FROM done`,
  heartbeat: `
    UPDATE :SCHEMA:.tasks t SET heartbeat_at = now()
    FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.lease_id = r.lease_id AND ${stateIs('t', `'running'`)}
    RETURNING t.id AS task_id, r.lease_id`,
  // transitions.recover with core's poison pill ($2 texts); $3 maxRecoveries, $4 ids, $5/$6 events
  // tagged with the state they are for. A dead task's unleased delivery goes too: a claim
  // would only hand it out to be thrown away.
  recover: `
    WITH r AS (
      SELECT * FROM ROWS FROM (
        json_to_recordset($1::json) AS (task_id text, lease_id text),
        unnest(string_to_array($2, chr(30)))
      ) WITH ORDINALITY AS r(task_id, lease_id, pill, i)
    ), moved AS (
      UPDATE :SCHEMA:.tasks t
      SET state = CASE WHEN t.recoveries + 1 > $3 THEN 'dead' ELSE 'pending' END,
          recoveries = t.recoveries + 1,
          lease_id = NULL, worker_id = NULL, heartbeat_at = NULL, updated_at = now(),
          finished_at = CASE WHEN t.recoveries + 1 > $3 THEN now() ELSE t.finished_at END,
          error = CASE WHEN t.recoveries + 1 > $3 THEN r.pill ELSE t.error END,
          q_ready_at = CASE WHEN t.recoveries + 1 > $3 AND t.q_lease_id IS NULL THEN NULL ELSE t.q_ready_at END
      FROM r
      WHERE t.id = ANY($4::text[]) AND t.id = r.task_id AND t.lease_id = r.lease_id AND ${stateIs('t', `'running'`)}
      RETURNING t.id, t.state AS k, r.i, t.run_id, t.phase_id
    ), ${handedEvents('moved', '$5', '$6', true)}
    SELECT i, k AS state FROM moved`,
  // transitions.transition: $3 the target state, $4 the error text (null: keep), $5/$6 events.
  transition: `
    WITH x AS (
      SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i)
    ), moved AS (
      UPDATE :SCHEMA:.tasks t
      SET state = $3::text, lease_id = NULL, worker_id = NULL, heartbeat_at = NULL, updated_at = now(),
          finished_at = CASE WHEN $3::text IN ('completed', 'dead', 'cancelled') THEN now() ELSE t.finished_at END,
          error = coalesce($4::text, t.error)
      FROM x
      WHERE t.id = ANY($1::text[]) AND t.id = x.id AND ${stateIs('t', 'ANY($2::text[])')}
      RETURNING t.id, x.i, t.run_id, t.phase_id
    ), ${handedEvents('moved', '$5', '$6')}
    SELECT id FROM moved ORDER BY i`,
  // transitions.retry of finished tasks: $2 resetAttempts, $3/$4 events.
  retry: `
    WITH x AS (
      SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i)
    ), moved AS (
      UPDATE :SCHEMA:.tasks t
      SET state = 'pending', lease_id = NULL, worker_id = NULL, heartbeat_at = NULL, updated_at = now(),
          attempt = CASE WHEN $2::boolean THEN 0 ELSE t.attempt END,
          recoveries = CASE WHEN $2::boolean THEN 0 ELSE t.recoveries END,
          result = NULL, progress = NULL, duration_ms = NULL, finished_at = NULL
      FROM x
      WHERE t.id = ANY($1::text[]) AND t.id = x.id AND ${stateIs('t', `ANY('{completed,dead,cancelled}'::text[])`)}
      RETURNING t.id, x.i, t.run_id, t.phase_id
    ), ${handedEvents('moved', '$3', '$4')}
    SELECT id FROM moved ORDER BY i`,
  // Fenced writes that are not lifecycle changes leave updated_at alone.
  recordUsage: `
    UPDATE :SCHEMA:.tasks
    SET cost_usd = cost_usd + $3, tokens = tokens + $4
    WHERE id = $1 AND lease_id = $2 AND state = 'running'
    RETURNING cost_usd, tokens`,
  setProgress: `
    WITH p AS (
      UPDATE :SCHEMA:.tasks t SET progress = $3
      WHERE t.id = $1 AND t.lease_id = $2 AND t.state = 'running'
      RETURNING 1::bigint AS i, t.run_id, t.phase_id
    ), ${handedEvents('p', '$4', '$5')}
    SELECT count(*)::int AS n FROM p`,
  // transitions.quarantine of one row, unless it already is (dead with its corruption kept),
  // with its task.corrupt event (transitions.corruptEvent): $2 error, $3 corruption, $4 event id, $5 event data.
  quarantine: `
    WITH q AS (
      UPDATE :SCHEMA:.tasks t
      SET state = 'dead', lease_id = NULL, worker_id = NULL, heartbeat_at = NULL, updated_at = now(), finished_at = now(),
          error = $2, corruption = $3
      WHERE t.id = $1 AND NOT (t.state = 'dead' AND t.corruption IS NOT NULL)
      RETURNING t.*
    ), ev AS (
      INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
      SELECT ${SEQ('0')}, $4, 'task.corrupt', date_trunc('milliseconds', q.updated_at), q.run_id, q.phase_id, q.id, NULL, $5 FROM q
    )
    SELECT ${taskColumns('q')} FROM q`,
  purge: `
    WITH cutoff AS (
      SELECT finished_at, seq FROM :SCHEMA:.tasks
      WHERE state = $1 AND finished_at IS NOT NULL
      ORDER BY finished_at DESC, seq DESC
      OFFSET $3 LIMIT 1
    ), oldest AS (
      -- Both conditions hold for a prefix of (finished_at, seq) order: look only at the oldest rows.
      SELECT t.id, t.finished_at, t.seq FROM :SCHEMA:.tasks t
      WHERE t.state = $1 AND t.finished_at IS NOT NULL
      ORDER BY t.finished_at, t.seq
      LIMIT $4
      FOR UPDATE SKIP LOCKED
    ), victims AS (
      SELECT o.id FROM oldest o
      WHERE o.finished_at < now() - $2 * interval '1 millisecond'
         OR (o.finished_at, o.seq) <= (SELECT finished_at, seq FROM cutoff)
    ), gone AS (
      DELETE FROM :SCHEMA:.tasks t USING victims v WHERE t.id = v.id RETURNING t.id, t.idempotency_key
    ), keys AS (
      -- A removed task's key no longer maps to it: the same key creates a new task.
      DELETE FROM :SCHEMA:.idempotency_keys k USING gone g WHERE k.key = g.idempotency_key AND k.task_id = g.id
    )
    SELECT count(*)::int AS n FROM gone`,
  purgeKeys: `
    DELETE FROM :SCHEMA:.idempotency_keys WHERE key IN (
      SELECT key FROM :SCHEMA:.idempotency_keys WHERE expires_at < now() LIMIT $1
    )`,
  delete: `
    WITH gone AS (
      DELETE FROM :SCHEMA:.tasks t WHERE t.id = ANY($1::text[]) AND ${stateIs('t', `ANY('{completed,dead,cancelled}'::text[])`)}
      RETURNING t.id, t.idempotency_key
    ), keys AS (
      DELETE FROM :SCHEMA:.idempotency_keys k USING gone g WHERE k.key = g.idempotency_key AND k.task_id = g.id
    )
    SELECT count(*)::int AS n FROM gone`,
  counts: (key: string) => `SELECT ${key} AS key, state, count(*)::int AS n, ${ms('min(updated_at)')} AS oldest FROM :SCHEMA:.tasks GROUP BY 1, 2`,
});
