// The fused operations of TaskFlow composed from single ports, for backends without their own
// (and for mixed deployments). Same meaning, more round trips.
import type { Logger } from './logger.js';
import type { BackendPorts } from './ports/backend.js';
import type { WriteOptions } from './ports/write-options.js';
import type { ClaimOptions, LeaseRef } from './ports/queue.js';
import type { NewEvent } from './ports/event-log.js';
import type { ClaimedStart, SettleItem, TaskFlow } from './ports/task-flow.js';
import type { CreateResult, NewTask } from './ports/task-store.js';

export function composeFlow(ports: BackendPorts, logger: Logger): TaskFlow {
  return {
    async createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
      const created = await ports.tasks.create(tasks, events === undefined ? options : { ...options, events: [...events] });
      const items = [];
      for (let i = 0; i < created.length; i++) {
        if (created[i]!.duplicate) continue;
        const t = tasks[i]!;
        const delayMs = delaysMs[i];
        items.push({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, ...(delayMs ? { delayMs } : {}) });
      }
      // If this fails after create succeeded, the tasks exist undelivered: the caller sees the error
      // (a retry returns duplicate) and the reconciler delivers them.
      if (items.length > 0) await ports.queue.enqueue(items, options);
      return created;
    },

    async claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
      const deliveries = await ports.queue.claim(options);
      if (deliveries.length === 0) return [];
      // A failure here leaves the deliveries leased; their leases expire and the supervisor hands them out again.
      const starts = await ports.tasks.start(
        deliveries.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId })),
        { startedEvents },
      );
      return deliveries.map((delivery, i) => ({ delivery, start: starts[i]! }));
    },

    async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
      const applied = await ports.tasks.finish(items.map((i) => i.outcome));
      const { acks, releases, deletes } = settledEffects(items, applied);
      try {
        await Promise.all([
          acks.length > 0 ? ports.queue.ack(acks) : undefined,
          releases.length > 0 ? ports.queue.release(releases) : undefined,
          deletes.length > 0 ? ports.checkpoints.delete(deletes) : undefined,
        ]);
      } catch (err) {
        // The outcomes are written; what is left heals itself: the still-leased deliveries expire,
        // the supervisor reclaims them, and the next claimer acks them on seeing the finished task.
        logger.warn({ err, tasks: items.length }, 'outcomes written but delivery cleanup failed; leases will expire and be cleaned up');
      }
      return applied;
    },

    async heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
      const held = await ports.queue.extend(refs, leaseMs);
      const live = refs.filter((_, i) => held[i]);
      if (live.length === 0) return held;
      const beat = await ports.tasks.heartbeat(live);
      let k = 0;
      return held.map((h) => h && beat[k++]!);
    },
  };
}

/**
 * What follows from a batch of applied outcomes: deliveries to ack, deliveries to release (with
 * their delay) and checkpoints to delete. Shared by every flow that composes finish+settle from
 * single statements, so they cannot drift apart.
 */
export function settledEffects(
  items: readonly SettleItem[],
  applied: readonly boolean[],
): { acks: LeaseRef[]; releases: (LeaseRef & { delayMs: number })[]; deletes: string[] } {
  const acks: LeaseRef[] = [];
  const releases: (LeaseRef & { delayMs: number })[] = [];
  const deletes: string[] = [];
  items.forEach((item, i) => {
    if (!applied[i]) return;
    const ref = { taskId: item.outcome.taskId, leaseId: item.outcome.leaseId };
    if (item.queue === 'ack') acks.push(ref);
    else if (item.queue === 'release') releases.push({ ...ref, delayMs: item.releaseDelayMs ?? 0 });
    if (item.deleteCheckpoint) deletes.push(ref.taskId);
  });
  return { acks, releases, deletes };
}
