// The PostgreSQL side of Queue: one row per live delivery in `deliveries`, claimed in batches
// with FOR UPDATE SKIP LOCKED so concurrent claimers never block on or share a row. Leases and
// due times use the database clock; NOTIFY wakes idle claimers.
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueItem, WriteOptions } from '@baton/core';
import type { AckLedger } from './ack-ledger.js';
import type { Db } from './db.js';
import type { Notifier } from './notifier.js';

const sql = (channel: string) => ({
  enqueue: `
    WITH ins AS (
      INSERT INTO :SCHEMA:.deliveries (task_id, ready_at)
      SELECT i.task_id, clock_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS i(task_id, delay_ms, ord)
      ORDER BY i.ord
      ON CONFLICT (task_id) DO NOTHING
      RETURNING 1
    )
    SELECT pg_notify('${channel}', '') FROM (SELECT 1 FROM ins LIMIT 1) AS any_new`,
  claim: `
    WITH picked AS (
      SELECT task_id FROM :SCHEMA:.deliveries
      WHERE lease_id IS NULL AND ready_at <= now()
      ORDER BY ready_at, seq
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), leased AS (
      UPDATE :SCHEMA:.deliveries d
      SET lease_id = gen_random_uuid()::text,
          lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond'
      FROM picked WHERE d.task_id = picked.task_id
      RETURNING d.task_id, d.lease_id, d.ready_at, d.seq
    )
    SELECT task_id, lease_id FROM leased ORDER BY ready_at, seq`,
  nextReady: `
    SELECT date_part('epoch', min(ready_at) - now()) * 1000 AS ms
    FROM :SCHEMA:.deliveries WHERE lease_id IS NULL`,
  ack: `
    DELETE FROM :SCHEMA:.deliveries d
    USING unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    WHERE d.task_id = r.task_id AND d.lease_id = r.lease_id
    RETURNING d.task_id, d.lease_id`,
  release: `
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = NULL, lease_expires_at = NULL,
        ready_at = clock_timestamp() + r.delay_ms * interval '1 millisecond'
    FROM unnest($1::text[], $2::text[], $3::float8[]) AS r(task_id, lease_id, delay_ms)
    WHERE d.task_id = r.task_id AND d.lease_id = r.lease_id
    RETURNING d.task_id, r.lease_id, pg_notify('${channel}', '')`,
  extend: `
    UPDATE :SCHEMA:.deliveries d
    SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
    FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    WHERE d.task_id = r.task_id AND d.lease_id = r.lease_id
    RETURNING d.task_id, d.lease_id`,
  // The stalled-task query: leases past expiry by the database clock.
  reclaimExpired: `
    WITH expired AS (
      SELECT task_id, lease_id FROM :SCHEMA:.deliveries
      WHERE lease_id IS NOT NULL AND lease_expires_at <= now()
      ORDER BY lease_expires_at
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    )
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = NULL, lease_expires_at = NULL
    FROM expired WHERE d.task_id = expired.task_id
    RETURNING expired.task_id, expired.lease_id, pg_notify('${channel}', '')`,
  remove: `
    WITH gone AS (DELETE FROM :SCHEMA:.deliveries WHERE task_id = ANY($1::text[]) RETURNING 1)
    SELECT count(*)::int AS n FROM gone`,
  depth: `
    SELECT count(*) FILTER (WHERE lease_id IS NULL AND ready_at <= now())::int AS ready,
           count(*) FILTER (WHERE lease_id IS NOT NULL)::int AS leased,
           count(*) FILTER (WHERE lease_id IS NULL AND ready_at > now())::int AS delayed
    FROM :SCHEMA:.deliveries`,
});

export class PostgresQueue implements Queue {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly acked: AckLedger,
  ) {
    const text = sql(db.names.channel);
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
    const { limit, leaseMs, waitMs, signal } = options;
    if (limit <= 0) return [];
    const deadline = Date.now() + Math.max(0, waitMs);
    // Listen before the first look, so work committed after it cannot go unnoticed.
    if (waitMs > 0) await this.notifier.ensure();
    for (;;) {
      const generation = this.notifier.generation;
      const rows = await this.db.run(this.q.claim, [limit, leaseMs]);
      if (rows.length > 0) return rows.map((r) => ({ taskId: r.task_id as string, leaseId: r.lease_id as string }));
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
    const out = refs.map((r) => this.acked.take(r.taskId, r.leaseId));
    const rest = refs.filter((_, i) => !out[i]);
    if (rest.length === 0) return out;
    const done = matched(await this.db.run(this.q.ack, [rest.map((r) => r.taskId), rest.map((r) => r.leaseId)]));
    return refs.map((r, i) => out[i] === true || done.has(refKey(r.taskId, r.leaseId)));
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

function matched(rows: Record<string, unknown>[]): Set<string> {
  return new Set(rows.map((r) => refKey(r.task_id as string, r.lease_id as string)));
}
