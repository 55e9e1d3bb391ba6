// The PostgreSQL side of Queue. A task's delivery lives in its own row (q_* columns), so the
// fused TaskFlow operations change queue and task state in one row write; ids without a task
// row use the `deliveries` table. Claims go through the schema's claim() function (FOR UPDATE
// SKIP LOCKED, batched). Leases and due times use the database clock; NOTIFY wakes idle claimers.
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueItem, WriteOptions } from '@baton/core';
import type { PgRow } from './pg-types.js';
import type { Db } from './db.js';
import type { Notifier } from './notifier.js';

// Each statement covers both homes of a delivery: the q_* columns of the task's row, and the
// `deliveries` table for ids without a task row. Array-driven statements also filter
// `= ANY(ids)` so the primary keys find the rows whatever the table statistics say.
export const queueSql = (channel: string) => ({
  enqueue: `
    WITH items AS (
      SELECT * FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS i(task_id, delay_ms, ord)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_ready_at = statement_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM items i
      WHERE t.id = ANY($1::text[]) AND t.id = i.task_id AND t.q_ready_at IS NULL
      RETURNING 1
    ), other AS (
      INSERT INTO :SCHEMA:.deliveries (task_id, ready_at)
      SELECT i.task_id, statement_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM items i
      WHERE NOT (i.task_id = ANY(ARRAY(SELECT t.id FROM :SCHEMA:.tasks t WHERE t.id = ANY($1::text[]))))
      ORDER BY i.ord
      ON CONFLICT (task_id) DO NOTHING
      RETURNING 1
    )
    SELECT pg_notify('${channel}', '') FROM (SELECT 1 FROM own UNION ALL SELECT 1 FROM other LIMIT 1) AS any_new`,
  claim: `SELECT * FROM :SCHEMA:.claim($1, $2, $3)`,
  nextReady: `
    SELECT date_part('epoch', least(
      (SELECT min(q_ready_at) FROM :SCHEMA:.tasks WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL),
      (SELECT min(ready_at) FROM :SCHEMA:.deliveries WHERE lease_id IS NULL)) - now()) * 1000 AS ms`,
  ack: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_ready_at = NULL, q_lease_id = NULL, q_lease_expires_at = NULL
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id
    ), other AS (
      DELETE FROM :SCHEMA:.deliveries d USING r
      WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, d.lease_id
    )
    SELECT * FROM own UNION ALL SELECT * FROM other`,
  release: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) AS r(task_id, lease_id, delay_ms)
    ), own AS (
      UPDATE :SCHEMA:.tasks t
      SET q_lease_id = NULL, q_lease_expires_at = NULL, q_ready_at = statement_timestamp() + r.delay_ms * interval '1 millisecond'
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id
    ), other AS (
      UPDATE :SCHEMA:.deliveries d
      SET lease_id = NULL, lease_expires_at = NULL, ready_at = statement_timestamp() + r.delay_ms * interval '1 millisecond'
      FROM r WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, r.lease_id
    )
    SELECT task_id, lease_id, pg_notify('${channel}', '') FROM (SELECT * FROM own UNION ALL SELECT * FROM other) AS released`,
  extend: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id
    ), other AS (
      UPDATE :SCHEMA:.deliveries d SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
      FROM r WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, r.lease_id
    )
    SELECT * FROM own UNION ALL SELECT * FROM other`,
  // The stalled-task query: leases past expiry by the database clock. The delivery keeps its
  // ready time, so it goes back to the front of the queue.
  reclaimExpired: `
    WITH own AS (
      SELECT t.id, t.q_lease_id AS lease_id, t.q_lease_expires_at AS expires_at FROM :SCHEMA:.tasks t
      WHERE t.q_lease_id IS NOT NULL AND t.q_lease_expires_at <= now()
      ORDER BY t.q_lease_expires_at
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), other AS (
      SELECT d.task_id AS id, d.lease_id, d.lease_expires_at AS expires_at FROM :SCHEMA:.deliveries d
      WHERE d.lease_id IS NOT NULL AND d.lease_expires_at <= now()
      ORDER BY d.lease_expires_at
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), chosen AS MATERIALIZED (
      SELECT * FROM (
        SELECT true AS mine, o.* FROM own o UNION ALL SELECT false, x.* FROM other x
      ) c ORDER BY expires_at LIMIT $1
    ), own_back AS (
      UPDATE :SCHEMA:.tasks t SET q_lease_id = NULL, q_lease_expires_at = NULL
      FROM chosen c WHERE c.mine AND t.id = ANY(ARRAY(SELECT id FROM chosen WHERE mine)) AND t.id = c.id
      RETURNING c.id, c.lease_id
    ), other_back AS (
      UPDATE :SCHEMA:.deliveries d SET lease_id = NULL, lease_expires_at = NULL
      FROM chosen c WHERE NOT c.mine AND d.task_id = ANY(ARRAY(SELECT id FROM chosen WHERE NOT mine)) AND d.task_id = c.id
      RETURNING c.id, c.lease_id
    )
    SELECT id AS task_id, lease_id, pg_notify('${channel}', '') FROM (SELECT * FROM own_back UNION ALL SELECT * FROM other_back) AS back`,
  remove: `
    WITH own AS (
      UPDATE :SCHEMA:.tasks SET q_ready_at = NULL, q_lease_id = NULL, q_lease_expires_at = NULL
      WHERE id = ANY($1::text[]) AND q_ready_at IS NOT NULL
      RETURNING 1
    ), other AS (
      DELETE FROM :SCHEMA:.deliveries WHERE task_id = ANY($1::text[]) RETURNING 1
    )
    SELECT (SELECT count(*) FROM own)::int + (SELECT count(*) FROM other)::int AS n`,
  // Each count walks one partial index (the ready or the leased one), never the whole table.
  depth: `
    SELECT
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL AND q_ready_at <= now())::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NULL AND ready_at <= now())::int AS ready,
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_lease_id IS NOT NULL)::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NOT NULL)::int AS leased,
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL AND q_ready_at > now())::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NULL AND ready_at > now())::int AS delayed`,
});

export class PostgresQueue implements Queue {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
  ) {
    const text = queueSql(db.names.channel);
    this.q = {
      enqueue: db.statement('queue.enqueue', text.enqueue),
      claim: db.statement('queue.claim', text.claim),
      nextReady: db.statement('queue.claim', text.nextReady),
      ack: db.statement('queue.ack', text.ack),
      release: db.statement('queue.release', text.release),
      extend: db.statement('queue.extend', text.extend),
      reclaimExpired: db.statement('queue.reclaimExpired', text.reclaimExpired),
      remove: db.statement('queue.remove', text.remove),
      depth: db.statement('queue.depth', text.depth),
    };
  }

  async enqueue(items: QueueItem[], options?: WriteOptions): Promise<void> {
    if (items.length === 0) return;
    const ids = items.map((i) => i.taskId);
    const delays = items.map((i) => Math.max(0, i.delayMs ?? 0));
    await this.db.run(this.q.enqueue, [ids, delays], options);
    // Same-process claimers need not wait for the NOTIFY round trip (or a commit we cannot see).
    if (options?.transaction === undefined) this.notifier.wake();
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    const rows = await this.claimRows(options, null);
    return rows.map((r) => ({ taskId: r.task_id as string, leaseId: r.lease_id as string }));
  }

  /**
   * The claim with its wait: rows of the schema's claim() function. With a worker id the claimed
   * pending tasks are started too (TaskFlow.claimAndStart); with null they are only leased.
   */
  async claimRows(options: ClaimOptions, workerId: string | null): Promise<PgRow[]> {
    const { limit, leaseMs, waitMs, signal } = options;
    if (limit <= 0 || signal?.aborted) return [];
    const deadline = Date.now() + Math.max(0, waitMs);
    // Listen before the first look, so work committed after it cannot go unnoticed.
    if (waitMs > 0) await this.notifier.ensure();
    for (;;) {
      const generation = this.notifier.generation;
      const rows = await this.db.run(this.q.claim, [limit, leaseMs, workerId]);
      if (rows.length > 0) return rows;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted) return [];
      const next = await this.db.run(this.q.nextReady, []);
      const dueIn = next[0]?.ms;
      const sleep = typeof dueIn === 'number' ? Math.min(remaining, Math.max(0, Math.ceil(dueIn)) + 1) : remaining;
      await this.notifier.wait(sleep, generation, signal);
      if (signal?.aborted) return [];
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const done = matched(await this.db.run(this.q.ack, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId)]));
    return refs.map((r) => done.has(refKey(r.taskId, r.leaseId)));
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const rows = await this.db.run(this.q.release, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), refs.map((r) => Math.max(0, r.delayMs ?? 0))]);
    if (rows.length > 0) this.notifier.wake();
    const done = matched(rows);
    return refs.map((r) => done.has(refKey(r.taskId, r.leaseId)));
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const done = matched(await this.db.run(this.q.extend, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), leaseMs]));
    return refs.map((r) => done.has(refKey(r.taskId, r.leaseId)));
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (limit <= 0) return [];
    const rows = await this.db.run(this.q.reclaimExpired, [limit]);
    if (rows.length > 0) this.notifier.wake();
    return rows.map((r) => ({ taskId: r.task_id as string, leaseId: r.lease_id as string }));
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    const rows = await this.db.run(this.q.remove, [taskIds]);
    return Number(rows[0]?.n ?? 0);
  }

  async depth(): Promise<QueueDepth> {
    const rows = await this.db.run(this.q.depth, []);
    const r = rows[0] ?? {};
    return { ready: Number(r.ready ?? 0), leased: Number(r.leased ?? 0), delayed: Number(r.delayed ?? 0) };
  }
}

function refKey(taskId: string, leaseId: string): string {
  return `${leaseId}\u0000${taskId}`;
}

function matched(rows: PgRow[]): Set<string> {
  return new Set(rows.map((r) => refKey(r.task_id as string, r.lease_id as string)));
}
