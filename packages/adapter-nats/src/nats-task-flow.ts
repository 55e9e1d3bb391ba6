// The fused operations of one NATS backend: what core's composeFlow means, each done per task as
// soon as its part is ready instead of batch after batch, inside one guarded operation. A new task
// is enqueued without the live-delivery check (it cannot have one). An outcome whose events did not
// reach the log yet keeps its delivery leased: the lease expires, and the reclaim that follows
// replays the events from the record before anything else touches the task.
import type { ClaimedStart, ClaimOptions, CreateResult, LeaseRef, NewEvent, NewTask, QueueItem, SettleItem, TaskFlow, WriteOptions } from '@baton/core/adapter';
import type { NatsCheckpointStore } from './nats-checkpoint-store.js';
import type { NatsQueue } from './nats-queue.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import type { NatsTaskStore } from './nats-task-store.js';

export class NatsTaskFlow implements TaskFlow {
  constructor(
    private readonly rt: NatsRuntime,
    private readonly queue: NatsQueue,
    private readonly tasks: NatsTaskStore,
    private readonly checkpoints: NatsCheckpointStore,
  ) {}

  async createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], _options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    return this.rt.run('flow.createAndEnqueue', async (c) => {
      const created = await this.tasks.createNow(c, tasks, events);
      const items: QueueItem[] = [];
      created.forEach((r, i) => {
        if (r.duplicate) return;
        const t = tasks[i]!;
        const delayMs = delaysMs[i];
        items.push({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, ...(delayMs ? { delayMs } : {}) });
      });
      // If this fails after the creates, the tasks exist undelivered: a retry returns them as
      // duplicates and the reconciler delivers them.
      if (items.length > 0) await this.queue.enqueueNow(c, items, true);
      return created;
    });
  }

  async claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    if (options.limit <= 0 || options.signal?.aborted) return [];
    const deliveries = await this.queue.claim(options);
    if (deliveries.length === 0) return [];
    // A failure here leaves the deliveries leased; their leases expire and the supervisor hands them out again.
    return this.rt.run('flow.claimAndStart', (c) =>
      // The handler need not wait for task.started to reach the log: it is in the record's outbox,
      // and this process publishes the task's later events only after it.
      Promise.all(deliveries.map(async (delivery) => ({ delivery, start: await this.tasks.startOne(c, { ...delivery, workerId }, startedEvents, false) }))),
    );
  }

  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    return this.rt.run('flow.finishAndSettle', (c) => Promise.all(items.map((item) => this.settleOne(c, item))));
  }

  private async settleOne(c: NatsContext, item: SettleItem): Promise<boolean> {
    const o = item.outcome;
    const m = await this.tasks.finishOne(c, o);
    if (!m.result) return false;
    // The delivery is settled only once the outcome's events are in the log: until then its lease
    // is what brings a reclaim (and a replay) if this process dies.
    const landed = await m.landed;
    const ref: LeaseRef = { taskId: o.taskId, leaseId: o.leaseId };
    try {
      if (landed && item.queue === 'ack') await this.queue.leases.ack(c, ref);
      else if (landed && item.queue === 'release') await this.queue.leases.release(c, ref, Math.max(0, Math.floor(item.releaseDelayMs ?? 0)));
      if (item.deleteCheckpoint === true) await this.checkpoints.deleteOne(c, o.taskId);
    } catch (err) {
      // The outcome is written; what is left heals itself: the still-leased delivery expires, the
      // supervisor reclaims it, and the next claimer drops it on seeing the finished task.
      c.logger.warn({ err, taskId: o.taskId }, 'NATS: outcome written but delivery cleanup failed; the lease will expire and be cleaned up');
    }
    return true;
  }

  async heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('flow.heartbeat', (c) => Promise.all(refs.map(async (ref) => (await this.queue.leases.extend(c, ref, leaseMs)) && this.tasks.heartbeatOne(c, ref))));
  }
}
