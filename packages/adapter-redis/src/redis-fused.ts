// Operations that span two ports and run as one script on this backend: create + enqueue,
// claim + start, finish + ack/release (+ checkpoint delete). Each saves a round trip on the hot
// path and closes a window between two writes. They are not part of the port contract: an engine
// may use them when the ports involved are all this backend's (see RedisBackend).
import { newId, type ClaimOptions, type CreateResult, type Delivery, type NewTask, type StartResult, type TaskOutcome, type TaskState } from '@baton/core';
import { GROUP, type Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisQueue } from './redis-queue.js';
import type { RedisTaskStore } from './redis-task-store.js';
import { decodeStarted } from './task-codec.js';

/** An outcome plus what the engine does once it is written. */
export interface SettleItem {
  outcome: TaskOutcome;
  /** What happens to the task's delivery when the outcome was applied. */
  queue: 'ack' | 'release' | 'none';
  /** For 'release': deliverable again after this long. */
  releaseDelayMs?: number;
  /** Delete the task's checkpoint when the outcome was applied. */
  deleteCheckpoint?: boolean;
}

export interface ClaimedStart {
  delivery: Delivery;
  start: StartResult;
}

export class RedisFusedOps {
  private readonly claimKeys: readonly string[];
  private readonly settleKeys: readonly string[];

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    private readonly queue: RedisQueue,
    private readonly tasks: RedisTaskStore,
  ) {
    this.claimKeys = [keys.stream, keys.deliveries, keys.delayed, keys.leases, keys.counts];
    this.settleKeys = [keys.counts, keys.stream, keys.deliveries, keys.delayed, keys.leases, keys.checkpointStats];
  }

  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[]): Promise<CreateResult[]> {
    return this.tasks.createAndEnqueue(tasks, delaysMs);
  }

  /** queue.claim + tasks.start of what it claimed, in one script (waiting like claim). */
  claimAndStart(options: ClaimOptions, workerId: string): Promise<ClaimedStart[]> {
    const leaseMs = Math.max(1, Math.ceil(options.leaseMs));
    return this.queue.claimWith(options, async () => {
      const [flat, wakeFrom, nextDelayedIn] = (await this.conn.run('claim-start', this.claimKeys, [
        this.keys.P,
        GROUP,
        this.queue.consumer,
        options.limit,
        leaseMs,
        `${newId()}:`,
        workerId,
      ])) as [(string | number | (string | number | null)[])[], string | null, number];
      const items: ClaimedStart[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const taskId = flat[i] as string;
        const leaseId = flat[i + 1] as string;
        const r = flat[i + 2]!;
        const start: StartResult = Array.isArray(r)
          ? { taskId, task: decodeStarted(r, taskId, leaseId, workerId) }
          : { taskId, task: null, state: typeof r === 'string' ? (r as TaskState) : null };
        items.push({ delivery: { taskId, leaseId }, start });
      }
      return { items, wakeFrom, nextDelayedIn };
    });
  }

  /** tasks.finish + (for applied outcomes) queue.ack / release + checkpoints.delete, in one script. */
  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: RedisArg[] = [this.keys.P];
    for (const { outcome: o, queue, releaseDelayMs, deleteCheckpoint } of items) {
      args.push(
        o.taskId,
        o.leaseId,
        o.state,
        o.result === undefined ? '' : `=${JSON.stringify(o.result)}`,
        o.error === undefined ? '' : `=${JSON.stringify(o.error)}`,
        o.durationMs === undefined ? '' : `=${Math.round(o.durationMs)}`,
        queue,
        releaseDelayMs !== undefined && releaseDelayMs > 0 ? Math.ceil(releaseDelayMs) : 0,
        deleteCheckpoint === true ? 1 : 0,
      );
    }
    return ((await this.conn.run('finish-settle', this.settleKeys, args)) as number[]).map((v) => v === 1);
  }
}
