// The SQLite side of Queue: one row per live delivery in baton_deliveries (queue, priority, group,
// readiness, lease) and one row per configured queue in baton_queues. Claims run in BEGIN
// IMMEDIATE (see sqlite-claim.ts), so processes sharing the file take the write lock in turn and
// never hand one delivery to two claimers. Idle claimers poll with a short backoff: SQLite cannot
// push, though an enqueue in this process wakes them at once.
import { DEFAULT_QUEUE_SETTINGS, type ClaimOptions, type Delivery, type LeaseRef, type Queue, type QueueDepth, type QueueInfo, type QueueItem, type QueueSettings } from '@baton/core/adapter';
import { Claimer, type QueueRow } from './sqlite-claim.js';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';
import type { SqliteEventLog } from './sqlite-event-log.js';
import { fullBucket, rescale } from './sqlite-rate-bucket.js';

/** Poll backoff of an idle claim: first wait, then doubled up to the cap. */
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 25;

type DepthRow = { queue: unknown; ready: number; leased: number; expired: number; delayed: number };

const DEPTH_COLUMNS =
  'coalesce(sum(lease_id IS NULL AND ready_at <= @now), 0) AS ready, coalesce(sum(lease_id IS NOT NULL), 0) AS leased, ' +
  'coalesce(sum(lease_id IS NOT NULL AND lease_expires_at <= @now), 0) AS expired, coalesce(sum(lease_id IS NULL AND ready_at > @now), 0) AS delayed';

function settingsOf(row: QueueRow | undefined): QueueSettings {
  if (row === undefined) return { ...DEFAULT_QUEUE_SETTINGS };
  return {
    paused: row.paused !== 0,
    concurrency: row.concurrency,
    rateLimit: row.rate_max === null || row.rate_per_ms === null ? null : { max: row.rate_max, perMs: row.rate_per_ms },
    groupConcurrency: row.group_concurrency,
  };
}

export class SqliteQueue implements Queue {
  readonly claimer: Claimer;
  private readonly insert: SqliteStatement;
  private readonly deleteHeld: SqliteStatement;
  private readonly releaseHeld: SqliteStatement;
  private readonly extendHeld: SqliteStatement;
  private readonly selectExpired: SqliteStatement;
  private readonly unlease: SqliteStatement;
  private readonly deleteTask: SqliteStatement;
  private readonly total: SqliteStatement;
  private readonly perQueue: SqliteStatement;
  private readonly settingsRows: SqliteStatement;
  private readonly settingsRow: SqliteStatement;
  private readonly saveSettings: SqliteStatement;

  constructor(
    private readonly ctx: SqliteContext,
    events: SqliteEventLog,
  ) {
    const db = ctx.db;
    this.claimer = new Claimer(ctx, events);
    this.insert = db.prepare('INSERT INTO baton_deliveries (task_id, queue, priority, group_key, ready_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING');
    this.deleteHeld = db.prepare('DELETE FROM baton_deliveries WHERE task_id = ? AND lease_id = ?');
    this.releaseHeld = db.prepare('UPDATE baton_deliveries SET lease_id = NULL, lease_expires_at = NULL, ready_at = ? WHERE task_id = ? AND lease_id = ?');
    this.extendHeld = db.prepare('UPDATE baton_deliveries SET lease_expires_at = ? WHERE task_id = ? AND lease_id = ?');
    this.selectExpired = db.prepare('SELECT seq, task_id, lease_id FROM baton_deliveries WHERE lease_id IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?');
    this.unlease = db.prepare('UPDATE baton_deliveries SET lease_id = NULL, lease_expires_at = NULL, ready_at = ? WHERE seq = ?');
    this.deleteTask = db.prepare('DELETE FROM baton_deliveries WHERE task_id = ?');
    this.total = db.prepare(`SELECT ${DEPTH_COLUMNS} FROM baton_deliveries`);
    this.perQueue = db.prepare(`SELECT queue, ${DEPTH_COLUMNS} FROM baton_deliveries GROUP BY queue`);
    this.settingsRows = db.prepare('SELECT * FROM baton_queues');
    this.settingsRow = db.prepare('SELECT * FROM baton_queues WHERE name = ?');
    this.saveSettings = db.prepare(
      'INSERT INTO baton_queues (name, paused, concurrency, rate_max, rate_per_ms, rate_origin, rate_tat, group_concurrency) ' +
        'VALUES (@name, @paused, @concurrency, @rateMax, @ratePerMs, @origin, @tat, @groupConcurrency) ON CONFLICT (name) DO UPDATE SET ' +
        'paused = excluded.paused, concurrency = excluded.concurrency, rate_max = excluded.rate_max, rate_per_ms = excluded.rate_per_ms, ' +
        'rate_origin = excluded.rate_origin, rate_tat = excluded.rate_tat, group_concurrency = excluded.group_concurrency',
    );
  }

  enqueue(items: QueueItem[]): Promise<void> {
    return this.ctx.run('queue.enqueue', () => {
      if (items.length > 0 && this.ctx.write(() => this.enqueueIn(items))) this.ctx.wake.notify();
    });
  }

  /** @internal `enqueue` inside the caller's transaction; true when a delivery was added (waiters to wake). */
  enqueueIn(items: readonly QueueItem[]): boolean {
    const now = this.ctx.now();
    let added = false;
    for (const item of items) {
      const readyAt = item.delayMs !== undefined && item.delayMs > 0 ? now + item.delayMs : now;
      if (this.insert.run(item.taskId, item.queue, item.priority, item.group, readyAt).changes > 0) added = true;
    }
    return added;
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    return this.claimWith(options, 'queue.claim', () => this.ctx.write(() => this.claimer.claimIn(options.queues, options.limit, options.leaseMs)));
  }

  /**
   * Runs `take` (a claiming transaction) now and, while it finds nothing, again on local wakes and
   * short polls until `waitMs` passes: SQLite cannot push, other processes are seen by polling.
   */
  async claimWith<T>(options: ClaimOptions, op: string, take: () => T[]): Promise<T[]> {
    const ctx = this.ctx;
    if (options.limit <= 0) return ctx.run(op, () => []);
    const got = await ctx.run(op, take);
    if (got.length > 0 || options.waitMs <= 0) return got;
    const deadline = Date.now() + options.waitMs;
    let pause = POLL_MIN_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted || ctx.isClosed) return [];
      await ctx.wake.wait(Math.min(pause, left), options.signal);
      if (options.signal?.aborted || ctx.isClosed) return [];
      const next = await ctx.run(op, take);
      if (next.length > 0) return next;
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  ack(refs: LeaseRef[]): Promise<boolean[]> {
    return this.ctx.run('queue.ack', () => (refs.length === 0 ? [] : this.ctx.write(() => this.ackIn(refs))));
  }

  /** @internal `ack` inside the caller's transaction. */
  ackIn(refs: readonly LeaseRef[]): boolean[] {
    return refs.map((r) => this.deleteHeld.run(r.taskId, r.leaseId).changes > 0);
  }

  release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    return this.ctx.run('queue.release', () => {
      if (refs.length === 0) return [];
      const out = this.ctx.write(() => this.releaseIn(refs));
      this.ctx.wake.notify();
      return out;
    });
  }

  /** @internal `release` inside the caller's transaction; the delivery is ready from its release (plus delay). */
  releaseIn(refs: readonly (LeaseRef & { delayMs?: number })[]): boolean[] {
    const now = this.ctx.now();
    return refs.map((r) => this.releaseHeld.run(now + (r.delayMs ?? 0), r.taskId, r.leaseId).changes > 0);
  }

  extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.ctx.run('queue.extend', () => (refs.length === 0 ? [] : this.ctx.write(() => this.extendIn(refs, leaseMs))));
  }

  /** @internal `extend` inside the caller's transaction (the first half of the flow's heartbeat). */
  extendIn(refs: readonly LeaseRef[], leaseMs: number): boolean[] {
    const expiresAt = this.ctx.now() + leaseMs;
    return refs.map((r) => this.extendHeld.run(expiresAt, r.taskId, r.leaseId).changes > 0);
  }

  /** One transaction: the leases it reports are exactly the ones it returned to ready, or none if it fails. */
  reclaimExpired(limit: number): Promise<LeaseRef[]> {
    return this.ctx.run('queue.reclaimExpired', () => {
      if (limit <= 0) return [];
      const out = this.ctx.write(() => {
        const now = this.ctx.now();
        const rows = this.selectExpired.all(now, limit) as { seq: number; task_id: string; lease_id: string }[];
        return rows.map((row) => {
          this.unlease.run(now, row.seq);
          return { taskId: row.task_id, leaseId: row.lease_id };
        });
      });
      if (out.length > 0) this.ctx.wake.notify();
      return out;
    });
  }

  remove(taskIds: string[]): Promise<number> {
    return this.ctx.run('queue.remove', () =>
      this.ctx.write(() => {
        let n = 0;
        for (const id of taskIds) n += this.deleteTask.run(id).changes;
        return n;
      }),
    );
  }

  depth(): Promise<QueueDepth> {
    return this.ctx.run('queue.depth', () => {
      const { ready, leased, expired, delayed } = this.total.get({ now: this.ctx.now() }) as QueueDepth;
      return { ready, leased, expired, delayed };
    });
  }

  queues(): Promise<QueueInfo[]> {
    return this.ctx.run('queue.queues', () => {
      // A read transaction: depths and settings from one snapshot.
      const [depths, settings] = this.ctx.read(() => [this.perQueue.all({ now: this.ctx.now() }) as DepthRow[], this.settingsRows.all() as QueueRow[]] as const);
      const byName = new Map<string, QueueInfo>();
      for (const s of settings) byName.set(s.name, { name: s.name, ...settingsOf(s), depth: { ready: 0, leased: 0, expired: 0, delayed: 0 } });
      for (const d of depths) {
        // A queue name rewritten as a BLOB behind our back names no queue a claim could serve.
        if (typeof d.queue !== 'string') continue;
        const depth = { ready: d.ready, leased: d.leased, expired: d.expired, delayed: d.delayed };
        const info = byName.get(d.queue);
        if (info === undefined) byName.set(d.queue, { name: d.queue, ...settingsOf(undefined), depth });
        else info.depth = depth;
      }
      return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  configure(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    return this.ctx.run('queue.configure', () => {
      const applied = this.ctx.write(() => {
        const row = this.settingsRow.get(queue) as QueueRow | undefined;
        const before = settingsOf(row);
        const next: QueueSettings = {
          paused: patch.paused ?? before.paused,
          concurrency: patch.concurrency !== undefined ? patch.concurrency : before.concurrency,
          rateLimit: patch.rateLimit !== undefined ? (patch.rateLimit === null ? null : { max: patch.rateLimit.max, perMs: patch.rateLimit.perMs }) : before.rateLimit,
          groupConcurrency: patch.groupConcurrency !== undefined ? patch.groupConcurrency : before.groupConcurrency,
        };
        const now = this.ctx.now();
        // A limit set anew starts with a full bucket; a changed one keeps what was already used.
        let bucket = fullBucket(now);
        if (next.rateLimit !== null && before.rateLimit !== null && row !== undefined) bucket = rescale(before.rateLimit, next.rateLimit, { origin: row.rate_origin, tat: row.rate_tat }, now);
        this.saveSettings.run({
          name: queue,
          paused: next.paused ? 1 : 0,
          concurrency: next.concurrency,
          rateMax: next.rateLimit?.max ?? null,
          ratePerMs: next.rateLimit?.perMs ?? null,
          origin: bucket.origin,
          tat: bucket.tat,
          groupConcurrency: next.groupConcurrency,
        });
        return next;
      });
      // Resumed, raised or lifted limits may let a waiting claim through.
      this.ctx.wake.notify();
      return applied;
    });
  }
}
