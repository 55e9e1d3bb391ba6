// TaskFlow on PostgreSQL: the engine's hot path in one statement per batch. A task's delivery
// lives in its row, so create+enqueue is one insert, claim+start one row update per task (the
// schema's claim() function) and finish+settle one row update per task, each with the events of
// the change, the checkpoint delete and any notification in the same statement.
import type { ClaimOptions, ClaimedStart, CreateResult, LeaseRef, NewEvent, NewTask, SettleItem, TaskFlow, WriteOptions } from '@baton/core/adapter';
import type { Db, Statement } from './db.js';
import { eventParams, handedEvents } from './event-rows.js';
import type { Notifier } from './notifier.js';
import type { PostgresQueue } from './postgres-queue.js';
import { appliedOncePerRef, appliedPerRef, outcomeParams, type PostgresTaskStore } from './postgres-task-store.js';
import { FREED } from './queue-statements.js';
import { OUTCOMES, OUTCOME_SET, stateIs } from './task-statements.js';

/**
 * finish + settle for one batch ($1-$3 outcomes, $4 ids, $5/$6 events). The release and
 * checkpoint parts are only in the statement when the batch needs them (the common batch is all
 * acks): four variants, each prepared once.
 */
export const finishAndSettleSql = (channel: string, parts: { release: boolean; checkpoints: boolean }): string => `
  WITH ${OUTCOMES(', queue_action text, release_ms float8, drop_checkpoint boolean', ', queue_action, release_ms, drop_checkpoint')}, done AS (
    UPDATE :SCHEMA:.tasks t
    SET ${OUTCOME_SET},
        has_checkpoint = t.has_checkpoint AND NOT o.drop_checkpoint,
        -- The delivery under this lease: acked (gone) or released (ready again after the delay).
        q_ready_at = CASE
          WHEN t.q_lease_id IS DISTINCT FROM o.lease_id THEN t.q_ready_at
          WHEN o.queue_action = 'ack' THEN NULL
          WHEN o.queue_action = 'release' THEN statement_timestamp() + o.release_ms * interval '1 millisecond'
          ELSE t.q_ready_at END,
        q_lease_expires_at = CASE WHEN t.q_lease_id = o.lease_id AND o.queue_action IN ('ack', 'release') THEN NULL ELSE t.q_lease_expires_at END,
        q_lease_id = CASE WHEN t.q_lease_id = o.lease_id AND o.queue_action IN ('ack', 'release') THEN NULL ELSE t.q_lease_id END
    FROM o
    WHERE t.id = ANY($4::text[]) AND t.id = o.task_id AND t.lease_id = o.lease_id AND ${stateIs('t', `'running'`)}
    RETURNING t.id AS task_id, o.lease_id, o.i, t.run_id, t.phase_id, o.queue_action, o.release_ms, o.drop_checkpoint, t.queue
  ), other_ack AS (
    -- A delivery kept in the deliveries table (its id was enqueued before the task row existed).
    DELETE FROM :SCHEMA:.deliveries d USING done
    WHERE d.task_id = ANY($4::text[]) AND d.task_id = done.task_id AND d.lease_id = done.lease_id AND done.queue_action = 'ack'
  ), ${handedEvents('done', '$5', '$6')}, settled AS (
    SELECT queue FROM done WHERE queue_action IN ('ack', 'release')
  ), ${FREED(channel, 'settled')}${
    parts.release
      ? `, other_release AS (
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = NULL, lease_expires_at = NULL, ready_at = statement_timestamp() + done.release_ms * interval '1 millisecond'
    FROM done
    WHERE d.task_id = ANY($4::text[]) AND d.task_id = done.task_id AND d.lease_id = done.lease_id AND done.queue_action = 'release'
  ), announced AS (
    SELECT pg_notify('${channel}', x.queue) FROM (SELECT DISTINCT queue FROM done WHERE queue_action = 'release') x
  )`
      : ''
  }${
    parts.checkpoints
      ? `, dropped AS (
    DELETE FROM :SCHEMA:.checkpoints c USING done
    WHERE c.task_id = ANY($4::text[]) AND c.task_id = done.task_id AND done.drop_checkpoint
  )`
      : ''
  }
  SELECT task_id, lease_id, queue_action, queue, (SELECT count(*) FROM freed) AS freed${parts.release ? ', (SELECT count(*) FROM announced) AS announced' : ''} FROM done`;

/**
 * queue.extend then tasks.heartbeat, as one statement: the lease is extended wherever the
 * delivery is still held, and the ref counts as held only where the task also still runs under it.
 */
export const FLOW_HEARTBEAT_SQL = `
  WITH r AS (
    SELECT * FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
  ), own AS (
    UPDATE :SCHEMA:.tasks t
    SET q_lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond',
        heartbeat_at = CASE WHEN t.lease_id = r.lease_id AND t.state = 'running' THEN now() ELSE t.heartbeat_at END
    FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
    RETURNING t.id AS task_id, r.lease_id, t.lease_id = r.lease_id AND t.state = 'running' AS beat
  ), other AS (
    UPDATE :SCHEMA:.deliveries d SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
    FROM r WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
    RETURNING d.task_id, r.lease_id
  ), other_beat AS (
    UPDATE :SCHEMA:.tasks t SET heartbeat_at = now()
    FROM other o WHERE t.id = ANY(ARRAY(SELECT task_id FROM other)) AND t.id = o.task_id AND t.lease_id = o.lease_id AND ${stateIs('t', `'running'`)}
    RETURNING t.id AS task_id, o.lease_id
  )
  SELECT task_id, lease_id FROM own WHERE beat
  UNION ALL
  SELECT task_id, lease_id FROM other_beat`;

export class PostgresTaskFlow implements TaskFlow {
  private readonly settle: Statement[];
  private readonly beat: Statement;

  constructor(
    private readonly db: Db,
    private readonly tasks: PostgresTaskStore,
    private readonly queue: PostgresQueue,
    private readonly notifier: Notifier,
  ) {
    this.settle = [0, 1, 2, 3].map((bits) => db.statement(finishAndSettleSql(db.names.channel, { release: (bits & 1) !== 0, checkpoints: (bits & 2) !== 0 })));
    this.beat = db.statement(FLOW_HEARTBEAT_SQL);
  }

  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    return this.db.run('flow.createAndEnqueue', () => this.tasks.createRows(tasks, delaysMs, options, events));
  }

  claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    return this.db.run('flow.claimAndStart', async () => {
      const rows = await this.queue.claimRows(options, workerId, startedEvents);
      const starts = await this.tasks.startResults(rows, 'task_id');
      return rows.map((r, i) => ({ delivery: { taskId: r.task_id as string, leaseId: r.delivery_lease as string }, start: starts[i]! }));
    });
  }

  finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    return this.db.run('flow.finishAndSettle', async () => {
      if (items.length === 0) return [];
      const outcomes = items.map((i) => i.outcome);
      const scalars = outcomeParams(outcomes, (_, i) => ({
        queue_action: items[i]!.queue,
        release_ms: Math.max(0, items[i]!.releaseDelayMs ?? 0),
        drop_checkpoint: items[i]!.deleteCheckpoint === true,
      }));
      const release = items.some((i) => i.queue === 'release');
      const checkpoints = items.some((i) => i.deleteCheckpoint === true);
      const stmt = this.settle[(release ? 1 : 0) | (checkpoints ? 2 : 0)]!;
      const rows = await this.db.query(stmt, [...scalars, outcomes.map((o) => o.taskId), ...eventParams(outcomes.map((o) => o.events))]);
      if (release) for (const r of rows) if (r.queue_action === 'release') this.notifier.wake(r.queue as string);
      return appliedOncePerRef(outcomes, rows);
    });
  }

  heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.db.run('flow.heartbeat', async () => {
      if (refs.length === 0) return [];
      return appliedPerRef(refs, await this.db.query(this.beat, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), leaseMs]));
    });
  }
}
