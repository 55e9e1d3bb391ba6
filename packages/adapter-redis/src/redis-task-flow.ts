// TaskFlow on Redis: the hot path as one script per step — create + enqueue, claim + start (with
// the task.started events), finish + ack/release (+ checkpoint delete), extend + heartbeat. Each
// saves a round trip and closes the window between two writes; each is fenced exactly like the
// port calls it replaces, and appends the same events in the same step.
import type { ClaimedStart, ClaimOptions, CreateResult, LeaseRef, NewEvent, NewTask, SettleItem, StartClaim, TaskFlow, WriteOptions } from '@baton/core/adapter';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisQueue } from './redis-queue.js';
import { flags } from './redis-queue.js';
import { pushOutcome, type RedisTaskStore } from './redis-task-store.js';

type StartReply = (string | number | null)[] | string | number;

export class RedisTaskFlow implements TaskFlow {
  constructor(
    private readonly conn: RedisConnection,
    private readonly queue: RedisQueue,
    private readonly tasks: RedisTaskStore,
  ) {}

  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], _options?: WriteOptions, events?: readonly (NewEvent[] | undefined)[]): Promise<CreateResult[]> {
    return this.tasks.createTasks('flow.createAndEnqueue', tasks, delaysMs, events);
  }

  /** One script per attempt; waits for work like queue.claim. */
  claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]> {
    const leaseMs = Math.max(1, Math.ceil(options.leaseMs));
    return this.queue.claimWith(options, async () => {
      const [flat, wake, nextIn, now] = (await this.conn.run('flow.claimAndStart', 'claim-start', [
        options.limit,
        leaseMs,
        Math.max(0, Math.ceil(options.waitMs)),
        workerId,
        startedEvents ? '1' : '0',
        ...options.queues,
      ])) as [(string | StartReply)[], string[] | null, number, number];
      const claims: StartClaim[] = [];
      const replies: StartReply[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        claims.push({ taskId: flat[i] as string, leaseId: flat[i + 1] as string, workerId });
        replies.push(flat[i + 2] as StartReply);
      }
      const starts = await this.tasks.startResults('flow.claimAndStart', claims, replies, now);
      const items = starts.map((start, i): ClaimedStart => ({ delivery: { taskId: claims[i]!.taskId, leaseId: claims[i]!.leaseId }, start }));
      return { items, wake, nextIn };
    });
  }

  async finishAndSettle(items: SettleItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: RedisArg[] = [];
    for (const it of items) {
      pushOutcome(args, it.outcome);
      args.push(it.queue, it.releaseDelayMs !== undefined && it.releaseDelayMs > 0 ? Math.ceil(it.releaseDelayMs) : 0, it.deleteCheckpoint === true ? '1' : '0');
    }
    return flags(await this.conn.run('flow.finishAndSettle', 'finish-settle', args));
  }

  heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.tasks.beat('flow.heartbeat', refs, leaseMs);
  }
}
