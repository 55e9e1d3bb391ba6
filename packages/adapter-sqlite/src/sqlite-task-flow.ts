// TaskFlow on SQLite: each fused operation is the stores' own statements inside one BEGIN
// IMMEDIATE transaction — one lock round and one commit (one fsync under FULL) per batch instead
// of two or three, no window between the writes, and every event commits with its change.
import {
  settledEffects,
  type ClaimOptions,
  type ClaimedStart,
  type CreateResult,
  type LeaseRef,
  type NewEvent,
  type NewTask,
  type QueueItem,
  type SettleItem,
  type TaskFlow,
  type WriteOptions,
} from '@baton/core/adapter';
import type { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteQueue } from './sqlite-queue.js';
import type { SqliteTaskStore } from './sqlite-task-store.js';

export class SqliteTaskFlow implements TaskFlow {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly queue: SqliteQueue,
    private readonly tasks: SqliteTaskStore,
    private readonly checkpoints: SqliteCheckpointStore,
  ) {}

  createAndEnqueue(newTasks: NewTask[], delaysMs: readonly (number | undefined)[], _options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    return this.ctx.run('flow.createAndEnqueue', () => {
      if (newTasks.length === 0) return [];
      const { created, added } = this.ctx.write(() => {
        const created = this.tasks.createIn(newTasks, events);
        const items: QueueItem[] = [];
        for (let i = 0; i < created.length; i++) {
          if (created[i]!.duplicate) continue;
          const t = newTasks[i]!;
          items.push({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, delayMs: delaysMs[i] });
        }
        return { created, added: items.length > 0 && this.queue.enqueueIn(items) };
      });
      if (added) this.ctx.wake.notify();
      return created;
    });
  }

  claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    return this.queue.claimWith(options, 'flow.claimAndStart', () =>
      this.ctx.write(() => {
        const deliveries = this.queue.claimer.claimIn(options.queues, options.limit, options.leaseMs);
        if (deliveries.length === 0) return [];
        const starts = this.tasks.startIn(
          deliveries.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId })),
          startedEvents,
        );
        return deliveries.map((delivery, i) => ({ delivery, start: starts[i]! }));
      }),
    );
  }

  finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    return this.ctx.run('flow.finishAndSettle', () => {
      if (items.length === 0) return [];
      const { applied, released } = this.ctx.write(() => {
        const applied = this.tasks.finishIn(items.map((i) => i.outcome));
        const { acks, releases, deletes } = settledEffects(items, applied);
        if (acks.length > 0) this.queue.ackIn(acks);
        if (releases.length > 0) this.queue.releaseIn(releases);
        if (deletes.length > 0) this.checkpoints.deleteIn(deletes);
        return { applied, released: releases.length > 0 };
      });
      if (released) this.ctx.wake.notify();
      return applied;
    });
  }

  heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.ctx.run('flow.heartbeat', () => {
      if (refs.length === 0) return [];
      return this.ctx.write(() => {
        const held = this.queue.extendIn(refs, leaseMs);
        const live = refs.filter((_, i) => held[i]);
        if (live.length === 0) return held;
        const beat = this.tasks.heartbeatIn(live);
        let k = 0;
        return held.map((h) => h && beat[k++]!);
      });
    });
  }
}
