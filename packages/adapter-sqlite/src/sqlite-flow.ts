// TaskFlow on SQLite: each fused operation is the stores' own statements inside one BEGIN
// IMMEDIATE transaction, so one lock round and one commit (one fsync under FULL) per batch
// instead of two or three, and no window between the writes; outcomes commit with their events.
import { settledEffects, type ClaimOptions, type ClaimedStart, type CreateResult, type NewEvent, type NewTask, type SettleItem, type TaskFlow, type WriteOptions } from '@baton/core';
import type { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
import type { SqliteEventLog } from './sqlite-event-log.js';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteTransaction } from './sqlite-driver.js';
import type { SqliteQueue } from './sqlite-queue.js';
import type { SqliteTaskStore } from './sqlite-task-store.js';

export class SqliteFlow implements TaskFlow {
  /** An outcome and its audit events commit together. */
  readonly appendsEvents = true;
  private readonly createEnqueueTx: SqliteTransaction<
    (tasks: NewTask[], delaysMs: readonly (number | undefined)[], audit: readonly (NewEvent | undefined)[] | undefined) => { created: CreateResult[]; readyNow: number }
  >;
  private readonly claimStartTx: SqliteTransaction<(limit: number, leaseMs: number, workerId: string) => ClaimedStart[]>;
  private readonly settleTx: SqliteTransaction<(items: SettleItem[]) => { applied: boolean[]; released: boolean }>;

  constructor(
    private readonly ctx: SqliteContext,
    private readonly queue: SqliteQueue,
    tasks: SqliteTaskStore,
    checkpoints: SqliteCheckpointStore,
    events: SqliteEventLog,
  ) {
    this.createEnqueueTx = transaction(ctx.db, (newTasks: NewTask[], delaysMs: readonly (number | undefined)[], audit: readonly (NewEvent | undefined)[] | undefined) => {
      const created = tasks.createTx(newTasks);
      const items = [];
      const logged: NewEvent[] = [];
      for (let i = 0; i < created.length; i++) {
        const c = created[i]!;
        if (c.duplicate) continue;
        items.push({ taskId: c.id, delayMs: delaysMs[i] ?? 0 });
        const e = audit?.[i];
        if (e) logged.push(e);
      }
      if (logged.length > 0) events.appendTx(logged);
      return { created, readyNow: items.length > 0 ? queue.enqueueTx(items) : 0 };
    });
    this.claimStartTx = transaction(ctx.db, (limit: number, leaseMs: number, workerId: string) => {
      const deliveries = queue.claimTx(limit, leaseMs);
      if (deliveries.length === 0) return [];
      const starts = tasks.startTx(deliveries.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId })));
      return deliveries.map((delivery, i) => ({ delivery, start: starts[i]! }));
    });
    this.settleTx = transaction(ctx.db, (items: SettleItem[]) => {
      const applied = tasks.finishTx(items.map((i) => i.outcome));
      const { acks, releases, deletes, events: audit } = settledEffects(items, applied);
      if (acks.length > 0) queue.ackTx(acks);
      if (releases.length > 0) queue.releaseTx(releases);
      if (deletes.length > 0) checkpoints.deleteTx(deletes);
      if (audit.length > 0) events.appendTx(audit);
      return { applied, released: releases.length > 0 };
    });
  }

  async createAndEnqueue(
    newTasks: NewTask[],
    delaysMs: readonly (number | undefined)[],
    _options?: WriteOptions,
    audit?: readonly (NewEvent | undefined)[],
  ): Promise<CreateResult[]> {
    this.ctx.assertOpen();
    if (newTasks.length === 0) return [];
    let out: { created: CreateResult[]; readyNow: number };
    try {
      out = this.createEnqueueTx.immediate(newTasks, delaysMs, audit);
    } catch (err) {
      throw this.ctx.error('flow.createAndEnqueue', err);
    }
    if (out.readyNow > 0) this.ctx.wake.notify();
    return out.created;
  }

  claimAndStart(options: ClaimOptions, workerId: string): Promise<ClaimedStart[]> {
    return this.queue.claimWith(options, 'flow.claimAndStart', (limit) => this.claimStartTx.immediate(limit, options.leaseMs, workerId));
  }

  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    this.ctx.assertOpen();
    if (items.length === 0) return [];
    let out: { applied: boolean[]; released: boolean };
    try {
      out = this.settleTx.immediate(items);
    } catch (err) {
      throw this.ctx.error('flow.finishAndSettle', err);
    }
    if (out.released) this.ctx.wake.notify();
    return out.applied;
  }
}
