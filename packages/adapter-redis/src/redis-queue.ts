// Queue on Redis: per named queue a ready zset ordered by priority, readiness and enqueue order,
// group lanes, a delayed zset and a settings hash; one deliveries hash (the "one live delivery
// per task" gate) and one lease zset across queues (see lua/includes/queue-lib.lua). Every
// claim, limit check and lease change is one script timed by Redis TIME; a claim takes across
// all of its queues in one round trip. A claim that finds nothing blocks on the queues' wake
// streams (XREAD) from the ids it read in the same script, so no enqueue is missed.
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueInfo, QueueItem, QueueSettings } from '@baton/core/adapter';
import type { Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';

/** One claim script's answer: what it took, and when it took nothing, where to wait. */
export interface Attempt<T> {
  items: T[];
  /** The wake stream ids the claim read (aligned with the queues), or null when it took something. */
  wake: string[] | null;
  /** Ms until a delayed delivery is due or a rate limit lets one through; -1: none. */
  nextIn: number;
}

export class RedisQueue implements Queue {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async enqueue(items: QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    const args: RedisArg[] = [];
    for (const it of items) args.push(it.taskId, it.queue, it.priority, it.group ?? '', delay(it.delayMs));
    await this.conn.run('queue.enqueue', 'enqueue', args);
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    const leaseMs = Math.max(1, Math.ceil(options.leaseMs));
    return this.claimWith(options, async () => {
      const [flat, wake, nextIn] = (await this.conn.run('queue.claim', 'claim', [options.limit, leaseMs, Math.max(0, Math.ceil(options.waitMs)), ...options.queues])) as [string[], string[] | null, number];
      const items = new Array<Delivery>(flat.length / 2);
      for (let i = 0; i < flat.length; i += 2) items[i / 2] = { taskId: flat[i]!, leaseId: flat[i + 1]! };
      return { items, wake, nextIn };
    });
  }

  /**
   * The waiting part of a claim: runs `attempt` (one claim script) and, while it finds nothing
   * and time is left, blocks until a listed queue is woken, a delayed delivery is due or the
   * rate limit lets one through. The worker's clock only bounds the wait.
   */
  async claimWith<T>(options: ClaimOptions, attempt: () => Promise<Attempt<T>>): Promise<T[]> {
    if (options.limit <= 0 || options.signal?.aborted) return [];
    const deadline = Date.now() + Math.max(0, options.waitMs);
    for (;;) {
      const { items, wake, nextIn } = await attempt();
      if (items.length > 0) return items;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || options.signal?.aborted || this.conn.isClosed) return [];
      // Only set-aside entries were taken: look again at once.
      if (wake === null) continue;
      const ms = nextIn >= 0 ? Math.min(remaining, Math.max(1, nextIn)) : remaining;
      await this.conn.waitForWake(options.queues.map((q) => this.keys.wake(q)), wake, ms, options.signal);
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return flags(await this.conn.run('queue.ack', 'ack', args));
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [];
    for (const r of refs) args.push(r.taskId, r.leaseId, delay(r.delayMs));
    return flags(await this.conn.run('queue.release', 'release', args));
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [Math.max(1, Math.ceil(leaseMs))];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return flags(await this.conn.run('queue.extend', 'extend', args));
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (limit <= 0) return [];
    const flat = (await this.conn.run('queue.reclaimExpired', 'reclaim', [limit])) as string[];
    const out: LeaseRef[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ taskId: flat[i]!, leaseId: flat[i + 1]! });
    return out;
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return Number(await this.conn.run('queue.remove', 'remove', taskIds));
  }

  async depth(): Promise<QueueDepth> {
    const [ready, leased, expired, delayed] = (await this.conn.run('queue.depth', 'queues', ['depth'])) as number[];
    return { ready: ready!, leased: leased!, expired: expired!, delayed: delayed! };
  }

  async queues(): Promise<QueueInfo[]> {
    const rows = (await this.conn.run('queue.queues', 'queues', ['queues'])) as (string | number)[][];
    return rows
      .map(([name, p, c, gc, rm, rp, ready, leased, expired, delayed]) => ({
        name: String(name),
        ...settings([p, c, gc, rm, rp]),
        depth: { ready: Number(ready), leased: Number(leased), expired: Number(expired), delayed: Number(delayed) },
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async configure(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    const limit = (v: number | null | undefined) => (v === undefined ? '' : v === null ? 'null' : String(v));
    const rate = patch.rateLimit === undefined ? '' : patch.rateLimit === null ? 'null' : `${patch.rateLimit.max},${patch.rateLimit.perMs}`;
    const paused = patch.paused === undefined ? '' : patch.paused ? '1' : '0';
    const reply = (await this.conn.run('queue.configure', 'configure', [queue, paused, limit(patch.concurrency), limit(patch.groupConcurrency), rate])) as string[];
    return settings(reply);
  }
}

function settings([p, c, gc, rm, rp]: readonly (string | number | undefined)[]): QueueSettings {
  const n = (v: string | number | undefined) => (v === undefined || v === '' ? null : Number(v));
  const max = n(rm);
  const perMs = n(rp);
  return { paused: String(p) === '1', concurrency: n(c), rateLimit: max === null || perMs === null ? null : { max, perMs }, groupConcurrency: n(gc) };
}

function delay(ms: number | undefined): number {
  return ms !== undefined && ms > 0 ? Math.ceil(ms) : 0;
}

export function flags(reply: unknown): boolean[] {
  return (reply as number[]).map((v) => v === 1);
}
