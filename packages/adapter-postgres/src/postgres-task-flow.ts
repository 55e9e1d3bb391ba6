// TaskFlow on PostgreSQL: the engine's hot path in one statement per batch. A task's delivery
// lives in its row, so create+enqueue is one insert, claim+start one row update per task (the
// schema's claim() function) and finish+settle one row update per task, with the checkpoint
// delete and any release notification in the same statement.
import type { ClaimOptions, ClaimedStart, CreateResult, NewTask, SettleItem, TaskFlow, TaskState, WriteOptions } from '@baton/core';
import type { Db, Statement } from './db.js';
import type { Notifier } from './notifier.js';
import type { PostgresQueue } from './postgres-queue.js';
import { OUTCOME_SET, appliedPerOutcome, outcomeRow, stateIs, type PostgresTaskStore } from './postgres-task-store.js';
import { toTask } from './rows.js';

/**
 * finish + settle for one batch. The release and checkpoint parts are only in the statement when
 * the batch needs them (the common batch is all acks): four variants, each prepared once.
 */
export const finishAndSettleSql = (channel: string, parts: { release: boolean; checkpoints: boolean }) => `
  WITH o AS (
    SELECT * FROM json_to_recordset($1::json) AS o(
      task_id text, lease_id text, state text, result jsonb, error jsonb, duration_ms float8,
      queue text, release_ms float8, drop_checkpoint boolean)
  ), done AS (
    UPDATE :SCHEMA:.tasks t
    SET ${OUTCOME_SET},
        has_checkpoint = t.has_checkpoint AND NOT o.drop_checkpoint,
        -- The delivery under this lease: acked (gone) or released (ready again after the delay).
        q_ready_at = CASE
          WHEN t.q_lease_id IS DISTINCT FROM o.lease_id THEN t.q_ready_at
          WHEN o.queue = 'ack' THEN NULL
          WHEN o.queue = 'release' THEN statement_timestamp() + o.release_ms * interval '1 millisecond'
          ELSE t.q_ready_at END,
        q_lease_expires_at = CASE WHEN t.q_lease_id = o.lease_id AND o.queue IN ('ack', 'release') THEN NULL ELSE t.q_lease_expires_at END,
        q_lease_id = CASE WHEN t.q_lease_id = o.lease_id AND o.queue IN ('ack', 'release') THEN NULL ELSE t.q_lease_id END
    FROM o
    WHERE t.id = ANY($2::text[]) AND t.id = o.task_id AND t.lease_id = o.lease_id AND ${stateIs('t', `'running'`)}
    RETURNING t.id AS task_id, o.lease_id, o.queue, o.release_ms, o.drop_checkpoint
  ), other_ack AS (
    -- A delivery kept in the deliveries table (its id was enqueued before the task row existed).
    DELETE FROM :SCHEMA:.deliveries d USING done
    WHERE d.task_id = ANY($2::text[]) AND d.task_id = done.task_id AND d.lease_id = done.lease_id AND done.queue = 'ack'
  )${
    parts.release
      ? `, other_release AS (
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = NULL, lease_expires_at = NULL, ready_at = statement_timestamp() + done.release_ms * interval '1 millisecond'
    FROM done
    WHERE d.task_id = ANY($2::text[]) AND d.task_id = done.task_id AND d.lease_id = done.lease_id AND done.queue = 'release'
  ), announced AS (
    SELECT pg_notify('${channel}', '') FROM done WHERE queue = 'release' LIMIT 1
  )`
      : ''
  }${
    parts.checkpoints
      ? `, dropped AS (
    DELETE FROM :SCHEMA:.checkpoints c USING done
    WHERE c.task_id = ANY($2::text[]) AND c.task_id = done.task_id AND done.drop_checkpoint
  )`
      : ''
  }
  SELECT task_id, lease_id${parts.release ? ', (SELECT count(*) FROM announced) AS announced' : ''} FROM done`;

export class PostgresTaskFlow implements TaskFlow {
  private readonly settle: Statement[];

  constructor(
    private readonly db: Db,
    private readonly tasks: PostgresTaskStore,
    private readonly queue: PostgresQueue,
    private readonly notifier: Notifier,
  ) {
    this.settle = [0, 1, 2, 3].map((bits) =>
      db.statement('flow.finishAndSettle', finishAndSettleSql(db.names.channel, { release: (bits & 1) !== 0, checkpoints: (bits & 2) !== 0 })),
    );
  }

  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], options?: WriteOptions): Promise<CreateResult[]> {
    return this.tasks.createRows(tasks, delaysMs, options);
  }

  async claimAndStart(options: ClaimOptions, workerId: string): Promise<ClaimedStart[]> {
    const rows = await this.queue.claimRows(options, workerId);
    return rows.map((r) => {
      const taskId = r.task_id as string;
      const delivery = { taskId, leaseId: r.lease_id as string };
      if (r.started === true && r.id !== null) return { delivery, start: { taskId, task: toTask(r) } };
      return { delivery, start: { taskId, task: null, state: (r.prior_state as TaskState | null) ?? null } };
    });
  }

  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const payload = JSON.stringify(
      items.map(({ outcome, queue, releaseDelayMs, deleteCheckpoint }) => ({
        ...outcomeRow(outcome),
        queue,
        release_ms: Math.max(0, releaseDelayMs ?? 0),
        drop_checkpoint: deleteCheckpoint === true,
      })),
    );
    const outcomes = items.map((i) => i.outcome);
    const release = items.some((i) => i.queue === 'release');
    const checkpoints = items.some((i) => i.deleteCheckpoint === true);
    const rows = await this.db.run(this.settle[(release ? 1 : 0) | (checkpoints ? 2 : 0)]!, [payload, outcomes.map((o) => o.taskId)]);
    if (release) this.notifier.wake();
    return appliedPerOutcome(outcomes, rows);
  }
}
