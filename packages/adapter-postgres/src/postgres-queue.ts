// The PostgreSQL side of Queue: named queues with priorities, pause and fleet-wide limits, all
// enforced inside the schema's claim() function (queue-statements.ts has the rest). A claim that
// finds nothing waits for a NOTIFY of one of its queues, the next delayed delivery or refilled
// rate bucket (next_due()), or its deadline, whichever comes first.
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueInfo, QueueItem, QueueSettings, WriteOptions } from '@baton/core/adapter';
import type { Db, Statement } from './db.js';
import type { Notifier } from './notifier.js';
import type { PgRow } from './pg-types.js';
import { appliedOncePerRef, appliedPerRef } from './postgres-task-store.js';
import { queueSql } from './queue-statements.js';

type Sql = ReturnType<typeof queueSql>;

export class PostgresQueue implements Queue {
  private readonly q: Record<keyof Sql, Statement>;

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
  ) {
    this.q = Object.fromEntries(Object.entries(queueSql(db.names.channel)).map(([k, text]) => [k, db.statement(text)])) as Record<keyof Sql, Statement>;
  }

  enqueue(items: QueueItem[], options?: WriteOptions): Promise<void> {
    return this.db.run('queue.enqueue', async () => {
      if (items.length === 0) return;
      const payload = JSON.stringify(
        items.map((i) => ({ task_id: i.taskId, queue: i.queue, priority: i.priority, group_key: i.group, delay_ms: Math.max(0, i.delayMs ?? 0) })),
      );
      const rows = await this.db.query(this.q.enqueue, [payload, items.map((i) => i.taskId)], options);
      // Same-process claimers need not wait for the NOTIFY round trip (or a commit we cannot see).
      if (options?.transaction === undefined) for (const r of rows) this.notifier.wake(r.queue as string);
    });
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    return this.db.run('queue.claim', async () => {
      const rows = await this.claimRows(options, null, false);
      return rows.map((r) => ({ taskId: r.task_id as string, leaseId: r.delivery_lease as string }));
    });
  }

  /**
   * The claim with its wait: rows of the schema's claim() function, in claim order. With a worker
   * id the claimed pending tasks are started too (TaskFlow.claimAndStart); with null they are
   * only leased. Call inside `db.run`.
   */
  async claimRows(options: ClaimOptions, workerId: string | null, startedEvents: boolean): Promise<PgRow[]> {
    const { queues, limit, leaseMs, waitMs, signal } = options;
    if (limit <= 0 || queues.length === 0 || signal?.aborted) return [];
    const deadline = Date.now() + Math.max(0, waitMs);
    // Listen before the first look, so work committed after it cannot go unnoticed.
    if (waitMs > 0) await this.notifier.ensure();
    for (;;) {
      const token = this.notifier.token(queues);
      const rows = await this.db.query(this.q.claim, [queues, limit, leaseMs, workerId, startedEvents]);
      if (rows.length > 0) return rows;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted) return [];
      const dueIn = (await this.db.query(this.q.nextDue, [queues]))[0]?.ms;
      const sleep = typeof dueIn === 'number' ? Math.min(remaining, Math.max(0, Math.ceil(dueIn)) + 1) : remaining;
      await this.notifier.wait(queues, sleep, token, signal);
      if (signal?.aborted) return [];
    }
  }

  ack(refs: LeaseRef[]): Promise<boolean[]> {
    return this.db.run('queue.ack', async () => {
      if (refs.length === 0) return [];
      return appliedOncePerRef(refs, await this.db.query(this.q.ack, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId)]));
    });
  }

  release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    return this.db.run('queue.release', async () => {
      if (refs.length === 0) return [];
      const rows = await this.db.query(this.q.release, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), refs.map((r) => Math.max(0, r.delayMs ?? 0))]);
      for (const queue of new Set(rows.map((r) => r.queue as string))) this.notifier.wake(queue);
      return appliedOncePerRef(refs, rows);
    });
  }

  extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.db.run('queue.extend', async () => {
      if (refs.length === 0) return [];
      return appliedPerRef(refs, await this.db.query(this.q.extend, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), leaseMs]));
    });
  }

  reclaimExpired(limit: number): Promise<LeaseRef[]> {
    return this.db.run('queue.reclaimExpired', async () => {
      if (limit <= 0) return [];
      const rows = await this.db.query(this.q.reclaimExpired, [limit]);
      return rows.map((r) => ({ taskId: r.task_id as string, leaseId: r.lease_id as string }));
    });
  }

  remove(taskIds: string[]): Promise<number> {
    return this.db.run('queue.remove', async () => {
      if (taskIds.length === 0) return 0;
      return Number((await this.db.query(this.q.remove, [taskIds]))[0]?.n ?? 0);
    });
  }

  depth(): Promise<QueueDepth> {
    return this.db.run('queue.depth', async () => {
      const r = (await this.db.query(this.q.depth, []))[0] ?? {};
      return { ready: Number(r.ready ?? 0), leased: Number(r.leased ?? 0), expired: Number(r.expired ?? 0), delayed: Number(r.delayed ?? 0) };
    });
  }

  queues(): Promise<QueueInfo[]> {
    return this.db.run('queue.queues', async () => {
      const rows = await this.db.query(this.q.queues, []);
      return rows.map((r) => ({
        name: r.name as string,
        ...settingsOf(r),
        depth: { ready: r.ready as number, leased: r.leased as number, expired: r.expired as number, delayed: r.delayed as number },
      }));
    });
  }

  configure(queue: string, settings: Partial<QueueSettings>): Promise<QueueSettings> {
    return this.db.run('queue.configure', async () => {
      const { paused, concurrency, groupConcurrency, rateLimit } = settings;
      const rows = await this.db.query(this.q.configure, [
        queue,
        paused !== undefined,
        paused ?? null,
        concurrency !== undefined,
        concurrency ?? null,
        groupConcurrency !== undefined,
        groupConcurrency ?? null,
        rateLimit !== undefined,
        rateLimit?.max ?? null,
        rateLimit?.perMs ?? null,
      ]);
      this.notifier.wake(queue);
      return settingsOf(rows[0]!);
    });
  }
}

function settingsOf(r: PgRow): QueueSettings {
  return {
    paused: r.paused === true,
    concurrency: (r.concurrency as number | null) ?? null,
    rateLimit: r.rate_max === null || r.rate_max === undefined ? null : { max: r.rate_max as number, perMs: Number(r.rate_per_ms) },
    groupConcurrency: (r.group_concurrency as number | null) ?? null,
  };
}
