// The SQL of the task store: each lifecycle change of core's task-transitions.ts translated into
// one fenced UPDATE that writes exactly the fields the change writes (the conformance
// `transitions` suite compares every stored field with what those functions return). Right-hand
// sides of an UPDATE read the row as it was before it, as the transitions read `rec`.
import type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js';
import { TASK_COLUMNS } from './task-row.js';

const TERMINAL = "('completed', 'dead', 'cancelled')";
/** Every change that ends or hands back a run clears the lease fields (transitions' `unleased`). */
const UNLEASED = 'lease_id = NULL, worker_id = NULL, heartbeat_at = NULL';
const HELD = "id = @id AND state = 'running' AND lease_id = @leaseId";

export function prepareTaskSql(db: SqliteDatabase) {
  const p = (sql: string): SqliteStatement => db.prepare(sql);
  return {
    getKey: p('SELECT task_id, expires_at FROM baton_idempotency_keys WHERE key = ?'),
    putKey: p(
      'INSERT INTO baton_idempotency_keys (key, task_id, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at',
    ),
    // createRecord: every other column takes its default (0, NULL).
    insert: p(
      'INSERT INTO baton_tasks (id, type, queue, priority, group_key, input, state, idempotency_key, run_id, phase_id, max_retries, budget, trace_context, created_at, updated_at) ' +
        "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    ),
    get: p(`SELECT ${TASK_COLUMNS} FROM baton_tasks WHERE id = ?`),
    // transitions.start (the record was read and checked pending in the same transaction).
    start: p("UPDATE baton_tasks SET state = 'running', lease_id = ?, worker_id = ?, started_at = ?, heartbeat_at = ?, updated_at = ? WHERE id = ? AND state = 'pending'"),
    // transitions.finish, all four outcome states in one statement.
    finish: p(
      `UPDATE baton_tasks SET state = @state, ${UNLEASED}, updated_at = @now, ` +
        "attempt = attempt + (@state = 'scheduled'), " +
        "result = CASE @state WHEN 'completed' THEN @result ELSE result END, " +
        "error = CASE @state WHEN 'completed' THEN NULL WHEN 'pending' THEN error ELSE coalesce(@error, error) END, " +
        "duration_ms = CASE @state WHEN 'pending' THEN duration_ms ELSE coalesce(@durationMs, duration_ms) END, " +
        "finished_at = CASE WHEN @state IN ('completed', 'dead') THEN @now ELSE finished_at END " +
        `WHERE ${HELD} RETURNING run_id, phase_id`,
    ),
    // transitions.heartbeat: heartbeatAt only; updatedAt stays.
    heartbeat: p(`UPDATE baton_tasks SET heartbeat_at = @now WHERE ${HELD}`),
    // transitions.recover: pending with recoveries + 1, or dead with the poison pill past maxRecoveries.
    recover: p(
      `UPDATE baton_tasks SET ${UNLEASED}, updated_at = @now, recoveries = recoveries + 1, ` +
        "state = CASE WHEN recoveries + 1 > @max THEN 'dead' ELSE 'pending' END, " +
        'error = CASE WHEN recoveries + 1 > @max THEN @poisonPill ELSE error END, ' +
        'finished_at = CASE WHEN recoveries + 1 > @max THEN @now ELSE finished_at END ' +
        `WHERE ${HELD} RETURNING state, run_id, phase_id`,
    ),
    // transitions.transition: unfenced, from a set of states.
    transition: p(
      `UPDATE baton_tasks SET state = @to, ${UNLEASED}, updated_at = @now, error = coalesce(@error, error), ` +
        'finished_at = CASE WHEN @terminal THEN @now ELSE finished_at END ' +
        'WHERE id = @id AND state IN (SELECT value FROM json_each(@from)) RETURNING run_id, phase_id',
    ),
    // transitions.retry: a finished task back to pending for another run.
    retry: p(
      `UPDATE baton_tasks SET state = 'pending', ${UNLEASED}, updated_at = @now, ` +
        'attempt = CASE WHEN @reset THEN 0 ELSE attempt END, recoveries = CASE WHEN @reset THEN 0 ELSE recoveries END, ' +
        'result = NULL, progress = NULL, duration_ms = NULL, finished_at = NULL ' +
        `WHERE id = @id AND state IN ${TERMINAL} RETURNING run_id, phase_id`,
    ),
    // transitions.quarantine: dead with CORRUPT_RECORD; the undecodable bytes stay in their column.
    quarantine: p(`UPDATE baton_tasks SET state = 'dead', ${UNLEASED}, updated_at = @now, error = @error, finished_at = @now, corruption = @corruption WHERE id = @id`),
    // Fenced writes that are not lifecycle changes leave updatedAt alone.
    usage: p(
      'UPDATE baton_tasks SET usage_cost_usd = usage_cost_usd + @costUsd, usage_tokens = usage_tokens + @tokens ' +
        `WHERE ${HELD} RETURNING usage_cost_usd, usage_tokens`,
    ),
    progress: p(`UPDATE baton_tasks SET progress = @progress WHERE ${HELD} RETURNING run_id, phase_id`),
    counts: {
      phase: p('SELECT phase_id AS key, state, count(*) AS count, min(updated_at) AS oldest FROM baton_tasks GROUP BY phase_id, state'),
      queue: p('SELECT queue AS key, state, count(*) AS count, min(updated_at) AS oldest FROM baton_tasks GROUP BY queue, state'),
      type: p('SELECT type AS key, state, count(*) AS count, min(updated_at) AS oldest FROM baton_tasks GROUP BY type, state'),
    },
    // The (keep+1)-th newest finished task of a state: it and everything older exceed keepLatest.
    keepBound: p(
      'SELECT rowid, finished_at FROM baton_tasks WHERE state = ? AND finished_at IS NOT NULL ' + 'ORDER BY finished_at DESC, rowid DESC LIMIT 1 OFFSET ?',
    ),
    purgeOlder: p('SELECT rowid, id, idempotency_key, finished_at FROM baton_tasks WHERE state = ? AND finished_at < ? ORDER BY finished_at, rowid LIMIT ?'),
    purgeUpTo: p(
      'SELECT rowid, id, idempotency_key, finished_at FROM baton_tasks WHERE state = @state AND finished_at <= @finishedAt ' +
        'AND (finished_at < @finishedAt OR rowid <= @rowid) ORDER BY finished_at, rowid LIMIT @limit',
    ),
    deleteRow: p('DELETE FROM baton_tasks WHERE rowid = ?'),
    deleteFinished: p(`DELETE FROM baton_tasks WHERE id = ? AND state IN ${TERMINAL} RETURNING idempotency_key`).pluck(),
    deleteCheckpoint: p('DELETE FROM baton_checkpoints WHERE task_id = ?'),
    deleteKeyOf: p('DELETE FROM baton_idempotency_keys WHERE key = ? AND task_id = ?'),
    deleteExpiredKeys: p(
      'DELETE FROM baton_idempotency_keys WHERE key IN (SELECT key FROM baton_idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
    ),
  };
}

export type TaskSql = ReturnType<typeof prepareTaskSql>;
