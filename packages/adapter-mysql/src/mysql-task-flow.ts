// The fused operations, each one transaction over the ports' own in-transaction steps: what
// core's composeFlow means, with nothing able to run between a claim and its start, or between
// a finish and its ack. The application's transaction is used for createAndEnqueue when given.
import { settledEffects, type ClaimOptions, type ClaimedStart, type CreateResult, type LeaseRef, type NewEvent, type NewTask, type QueueItem, type SettleItem, type TaskFlow, type WriteOptions } from '@baton/core/adapter';
import type { Db } from './mysql-db.js';
import type { MysqlCheckpointStore } from './mysql-checkpoint-store.js';
import type { MysqlQueue } from './mysql-queue.js';
import type { MysqlTaskStore } from './mysql-task-store.js';

export class MysqlTaskFlow implements TaskFlow {
  constructor(
    private readonly db: Db,
    private readonly queue: MysqlQueue,
    private readonly tasks: MysqlTaskStore,
    private readonly checkpoints: MysqlCheckpointStore,
  ) {}

  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    if (tasks.length === 0) return Promise.resolve([]);
    return this.db.run(
      'flow.createAndEnqueue',
      async (sql) => {
        const results = await this.tasks.createIn(sql, tasks, events);
        const items: QueueItem[] = [];
        results.forEach((r, i) => {
          if (r.duplicate) return;
          const t = tasks[i]!;
          items.push({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, delayMs: delaysMs[i] });
        });
        await this.queue.enqueueIn(sql, items);
        return results;
      },
      options?.transaction,
    );
  }

  claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    return this.queue.waitFor(
      options,
      async (sql): Promise<ClaimedStart[]> => {
        const deliveries = await this.queue.claimIn(sql, options.queues, options.limit, options.leaseMs);
        if (deliveries.length === 0) return [];
        const starts = await this.tasks.startIn(sql, deliveries.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId })), startedEvents);
        return deliveries.map((delivery, i) => ({ delivery, start: starts[i]! }));
      },
      [],
    );
  }

  finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return Promise.resolve([]);
    return this.db.run('flow.finishAndSettle', async (sql) => {
      const applied = await this.tasks.finishIn(sql, items.map((i) => i.outcome));
      const { acks, releases, deletes } = settledEffects(items, applied);
      if (acks.length > 0) await this.queue.ackIn(sql, acks);
      if (releases.length > 0) await this.queue.releaseIn(sql, releases);
      if (deletes.length > 0) await this.checkpoints.deleteIn(sql, deletes);
      return applied;
    });
  }

  heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.db.run('flow.heartbeat', async (sql) => {
      const held = await this.queue.extendIn(sql, refs, leaseMs);
      const live = refs.filter((_, i) => held[i]);
      if (live.length === 0) return held;
      const beat = await this.tasks.heartbeatIn(sql, live);
      let k = 0;
      return held.map((h) => h && beat[k++]!);
    });
  }
}
