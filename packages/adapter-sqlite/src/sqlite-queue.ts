// The SQLite side of Queue: one row per live delivery in baton_deliveries. Claims run in
// BEGIN IMMEDIATE, so processes sharing the file take the write lock in turn and never hand one
// delivery to two claimers. Idle claimers poll with a short backoff (no push from SQLite).
import { randomUUID } from 'node:crypto';
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueItem } from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';

/** Poll backoff of an idle claim: first wait, then doubled up to the cap. */
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 25;

interface ReadyRow {
  seq: number;
  task_id: string;
}

interface LeasedRow extends ReadyRow {
  lease_id: string;
}

export class SqliteQueue implements Queue {
  private readonly insert: SqliteStatement;
  private readonly selectReady: SqliteStatement;
  private readonly lease: SqliteStatement;
  private readonly deleteHeld: SqliteStatement;
  private readonly releaseHeld: SqliteStatement;
  private readonly extendHeld: SqliteStatement;
  private readonly selectExpired: SqliteStatement;
  private readonly unlease: SqliteStatement;
  private readonly deleteTask: SqliteStatement;
  private readonly countReady: SqliteStatement;
  private readonly countDelayed: SqliteStatement;
  private readonly countLeased: SqliteStatement;
  /** @internal composed into SqliteFlow's transactions. */
  readonly enqueueTx: SqliteTransaction<(items: QueueItem[]) => number>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly claimTx: SqliteTransaction<(limit: number, leaseMs: number) => Delivery[]>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly ackTx: SqliteTransaction<(refs: LeaseRef[]) => boolean[]>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly releaseTx: SqliteTransaction<(refs: (LeaseRef & { delayMs?: number })[]) => boolean[]>;
  private readonly extendTx: SqliteTransaction<(refs: LeaseRef[], leaseMs: number) => boolean[]>;
  private readonly reclaimTx: SqliteTransaction<(limit: number) => LeaseRef[]>;
  private readonly removeTx: SqliteTransaction<(taskIds: string[]) => number>;
  private readonly depthTx: SqliteTransaction<() => QueueDepth>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.insert = db.prepare('INSERT INTO baton_deliveries (task_id, ready_at) VALUES (?, ?) ON CONFLICT (task_id) DO NOTHING');
    this.selectReady = db.prepare(
      'SELECT seq, task_id FROM baton_deliveries WHERE lease_id IS NULL AND ready_at <= ? ORDER BY ready_at, seq LIMIT ?',
    );
    this.lease = db.prepare('UPDATE baton_deliveries SET lease_id = ?, lease_expires_at = ? WHERE seq = ?');
    this.deleteHeld = db.prepare('DELETE FROM baton_deliveries WHERE task_id = ? AND lease_id = ?');
    this.releaseHeld = db.prepare(
      'UPDATE baton_deliveries SET lease_id = NULL, lease_expires_at = NULL, ready_at = ? WHERE task_id = ? AND lease_id = ?',
    );
    this.extendHeld = db.prepare('UPDATE baton_deliveries SET lease_expires_at = ? WHERE task_id = ? AND lease_id = ?');
    this.selectExpired = db.prepare(
      'SELECT seq, task_id, lease_id FROM baton_deliveries WHERE lease_id IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?',
    );
    this.unlease = db.prepare('UPDATE baton_deliveries SET lease_id = NULL, lease_expires_at = NULL, ready_at = ? WHERE seq = ?');
    this.deleteTask = db.prepare('DELETE FROM baton_deliveries WHERE task_id = ?');
    this.countReady = db.prepare('SELECT count(*) FROM baton_deliveries WHERE lease_id IS NULL AND ready_at <= ?').pluck();
    this.countDelayed = db.prepare('SELECT count(*) FROM baton_deliveries WHERE lease_id IS NULL AND ready_at > ?').pluck();
    this.countLeased = db.prepare('SELECT count(*) FROM baton_deliveries WHERE lease_id IS NOT NULL').pluck();

    this.enqueueTx = transaction(db, (items: QueueItem[]) => {
      const now = ctx.now();
      let readyNow = 0;
      for (const item of items) {
        const delay = item.delayMs !== undefined && item.delayMs > 0 ? item.delayMs : 0;
        if (this.insert.run(item.taskId, now + delay).changes > 0 && delay === 0) readyNow++;
      }
      return readyNow;
    });
    this.claimTx = transaction(db, (limit: number, leaseMs: number) => {
      const now = ctx.now();
      const rows = this.selectReady.all(now, limit) as ReadyRow[];
      const out: Delivery[] = new Array<Delivery>(rows.length);
      const expiresAt = now + leaseMs;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const leaseId = randomUUID();
        this.lease.run(leaseId, expiresAt, row.seq);
        out[i] = { taskId: row.task_id, leaseId };
      }
      return out;
    });
    this.ackTx = transaction(db, (refs: LeaseRef[]) => refs.map((r) => this.deleteHeld.run(r.taskId, r.leaseId).changes > 0));
    this.releaseTx = transaction(db, (refs: (LeaseRef & { delayMs?: number })[]) => {
      const now = ctx.now();
      return refs.map((r) => this.releaseHeld.run(now + Math.max(0, r.delayMs ?? 0), r.taskId, r.leaseId).changes > 0);
    });
    this.extendTx = transaction(db, (refs: LeaseRef[], leaseMs: number) => {
      const expiresAt = ctx.now() + leaseMs;
      return refs.map((r) => this.extendHeld.run(expiresAt, r.taskId, r.leaseId).changes > 0);
    });
    this.reclaimTx = transaction(db, (limit: number) => {
      const now = ctx.now();
      const rows = this.selectExpired.all(now, limit) as LeasedRow[];
      return rows.map((row) => {
        this.unlease.run(now, row.seq);
        return { taskId: row.task_id, leaseId: row.lease_id };
      });
    });
    this.removeTx = transaction(db, (taskIds: string[]) => {
      let n = 0;
      for (const id of taskIds) n += this.deleteTask.run(id).changes;
      return n;
    });
    // A read transaction, so the three counts come from one snapshot.
    this.depthTx = transaction(db, () => {
      const now = ctx.now();
      return {
        ready: this.countReady.get(now) as number,
        leased: this.countLeased.get() as number,
        delayed: this.countDelayed.get(now) as number,
      };
    });
  }

  async enqueue(items: QueueItem[]): Promise<void> {
    this.ctx.assertOpen();
    if (items.length === 0) return;
    let readyNow: number;
    try {
      readyNow = this.enqueueTx.immediate(items);
    } catch (err) {
      throw this.ctx.error('queue.enqueue', err);
    }
    if (readyNow > 0) this.ctx.wake.notify();
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    return this.claimWith(options, 'queue.claim', (limit) => this.claimTx.immediate(limit, options.leaseMs));
  }

  /**
   * Runs `take` (a claiming transaction) now and, while it finds nothing, again on local wakes and
   * short polls until `waitMs` passes: SQLite cannot push, other processes are seen by polling.
   */
  async claimWith<T>(options: ClaimOptions, op: string, take: (limit: number) => T[]): Promise<T[]> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    if (limit === 0) return [];
    const attempt = (): T[] => {
      try {
        return take(limit);
      } catch (err) {
        throw ctx.error(op, err);
      }
    };
    const got = attempt();
    if (got.length > 0 || options.waitMs <= 0) return got;
    const deadline = Date.now() + options.waitMs;
    let pause = POLL_MIN_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted || ctx.isClosed) return [];
      await ctx.wake.wait(Math.min(pause, left), options.signal);
      if (options.signal?.aborted || ctx.isClosed) return [];
      const next = attempt();
      if (next.length > 0) return next;
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    this.ctx.assertOpen();
    if (refs.length === 0) return [];
    try {
      return this.ackTx.immediate(refs);
    } catch (err) {
      throw this.ctx.error('queue.ack', err);
    }
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    this.ctx.assertOpen();
    if (refs.length === 0) return [];
    let out: boolean[];
    try {
      out = this.releaseTx.immediate(refs);
    } catch (err) {
      throw this.ctx.error('queue.release', err);
    }
    this.ctx.wake.notify();
    return out;
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.ctx.assertOpen();
    if (refs.length === 0) return [];
    try {
      return this.extendTx.immediate(refs, leaseMs);
    } catch (err) {
      throw this.ctx.error('queue.extend', err);
    }
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    this.ctx.assertOpen();
    if (limit <= 0) return [];
    let out: LeaseRef[];
    try {
      out = this.reclaimTx.immediate(Math.floor(limit));
    } catch (err) {
      throw this.ctx.error('queue.reclaimExpired', err);
    }
    if (out.length > 0) this.ctx.wake.notify();
    return out;
  }

  async remove(taskIds: string[]): Promise<number> {
    this.ctx.assertOpen();
    if (taskIds.length === 0) return 0;
    try {
      return this.removeTx.immediate(taskIds);
    } catch (err) {
      throw this.ctx.error('queue.remove', err);
    }
  }

  async depth(): Promise<QueueDepth> {
    this.ctx.assertOpen();
    try {
      return this.depthTx();
    } catch (err) {
      throw this.ctx.error('queue.depth', err);
    }
  }
}
