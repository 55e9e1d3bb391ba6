// TaskFlow on Redis: operations spanning ports as one script each — create + enqueue, claim +
// start, finish + ack/release (+ checkpoint delete). Each saves a round trip on the hot path and
// closes the window between two writes; each is fenced exactly like the port calls it replaces.
import {
  newId,
  type ClaimedStart,
  type ClaimOptions,
  type CreateResult,
  type NewEvent,
  type NewTask,
  type SettleItem,
  type StartResult,
  type TaskFlow,
  type TaskState,
  type WriteOptions,
} from '@baton/core';
import { GROUP, type Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import { eventAts } from './redis-event-log.js';
import type { RedisQueue } from './redis-queue.js';
import type { RedisTaskStore } from './redis-task-store.js';
import { decodeStarted, pushOutcome } from './task-codec.js';

export class RedisTaskFlow implements TaskFlow {
  /** The backend's EventLog is on the same Redis (same hash tag): outcomes and their events land in one script. */
  readonly appendsEvents = true;
  private readonly claimKeys: readonly string[];
  private readonly settleKeys: readonly string[];

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    private readonly queue: RedisQueue,
    private readonly tasks: RedisTaskStore,
    /** Cap on visible events (the event log's). */
    private readonly eventsMaxLen: number,
  ) {
    this.claimKeys = [keys.stream, keys.deliveries, keys.delayed, keys.leases, keys.counts];
    this.settleKeys = [
      keys.counts,
      keys.stream,
      keys.deliveries,
      keys.delayed,
      keys.leases,
      keys.checkpointStats,
      keys.events,
      keys.eventSeq,
      keys.eventFloor,
    ];
  }

  /** One script: the idempotency key, the task hash, (for new tasks) the delivery and the event. */
  createAndEnqueue(
    tasks: NewTask[],
    delaysMs: readonly (number | undefined)[],
    _options?: WriteOptions,
    events?: readonly (NewEvent | undefined)[],
  ): Promise<CreateResult[]> {
    return this.tasks.createAndEnqueue(tasks, delaysMs, events);
  }

  /** One script per attempt; waits for work like queue.claim. */
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

  /** One script: no moment where a finished task still holds a leased delivery. */
  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: RedisArg[] = [this.keys.P, this.eventsMaxLen];
    for (const { outcome: o, queue, releaseDelayMs, deleteCheckpoint, events } of items) {
      const evs = events ?? [];
      pushOutcome(args, o);
      args.push(
        queue,
        releaseDelayMs !== undefined && releaseDelayMs > 0 ? Math.ceil(releaseDelayMs) : 0,
        deleteCheckpoint === true ? 1 : 0,
        evs.length,
        eventAts(evs),
        evs.length === 0 ? '' : JSON.stringify(evs).slice(1, -1),
      );
    }
    return ((await this.conn.run('finish-settle', this.settleKeys, args)) as number[]).map((v) => v === 1);
  }
}
