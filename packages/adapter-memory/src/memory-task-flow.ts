// The memory backend's TaskFlow: what core's composeFlow means, each operation done in one
// synchronous step over the stores' own per-item steps. Nothing runs between a finish and its
// ack, or between a claim and its start, and no per-task request objects are built in between.
import type { ClaimOptions, ClaimedStart, CreateResult, LeaseRef, NewEvent, NewTask, QueueItem, SettleItem, TaskFlow, WriteOptions } from '@baton/core/adapter';
import type { MemoryCheckpointStore } from './memory-checkpoint-store.js';
import type { MemoryQueue } from './memory-queue.js';
import type { MemoryState } from './memory-state.js';
import type { MemoryTaskStore } from './memory-task-store.js';

export class MemoryTaskFlow implements TaskFlow {
  constructor(
    private readonly state: MemoryState,
    private readonly queue: MemoryQueue,
    private readonly tasks: MemoryTaskStore,
    private readonly checkpoints: MemoryCheckpointStore,
  ) {}

  async createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], _options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    this.state.assertOpen();
    const created = this.tasks.createNow(tasks, events);
    const items: QueueItem[] = [];
    for (let i = 0; i < created.length; i++) {
      if (created[i]!.duplicate) continue;
      const t = tasks[i]!;
      items.push({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, delayMs: delaysMs[i] });
    }
    this.queue.enqueueNow(items);
    return created;
  }

  async claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    return this.queue.claimThen(
      options,
      (deliveries) => {
        const now = this.state.now();
        return deliveries.map((delivery) => ({ delivery, start: this.tasks.startOne(delivery.taskId, delivery.leaseId, workerId, startedEvents, now) }));
      },
      [],
    );
  }

  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return items.map((item) => {
      const o = item.outcome;
      if (!this.tasks.finishOne(o, now)) return false;
      if (item.queue === 'ack') this.queue.ackOne(o);
      else if (item.queue === 'release') this.queue.releaseOne(o, item.releaseDelayMs ?? 0, now);
      if (item.deleteCheckpoint === true) this.checkpoints.deleteOne(o.taskId);
      return true;
    });
  }

  async heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((ref) => this.queue.extendOne(ref, leaseMs, now) && this.tasks.heartbeatOne(ref, now));
  }
}
