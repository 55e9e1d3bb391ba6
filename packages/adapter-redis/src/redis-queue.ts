// Queue on a Redis Stream with one consumer group. A delivery is a stream entry plus a record in
// the deliveries hash; a claim reads new entries with XREADGROUP inside Lua and leases each under
// a fresh leaseId with its expiry (Redis clock) in a lease zset, so leases can be extended and
// expired ones found without scanning. Every lease check and change happens in one script.
import { hostname } from 'node:os';
import { newId, type ClaimOptions, type Delivery, type LeaseRef, type Queue, type QueueDepth, type QueueItem } from '@baton/core';
import { GROUP, type Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';

/** Consumers with nothing pending and idle this long are removed (crashed or stopped workers). */
const CONSUMER_IDLE_PRUNE_MS = 3_600_000;
const PRUNE_EVERY_MS = 600_000;

export class RedisQueue implements Queue {
  readonly consumer: string;
  private readonly streamKeys: readonly string[];
  private lastPrune = 0;

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    consumer?: string,
  ) {
    this.consumer = consumer ?? `${hostname()}:${process.pid}:${newId().slice(0, 8)}`;
    this.streamKeys = [keys.stream, keys.deliveries, keys.delayed, keys.leases];
  }

  async enqueue(items: QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    const args: RedisArg[] = [GROUP];
    for (const item of items) args.push(item.taskId, delay(item.delayMs));
    await this.conn.run('enqueue', [this.keys.stream, this.keys.deliveries, this.keys.delayed], args);
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    const leaseMs = Math.max(1, Math.ceil(options.leaseMs));
    return this.claimWith(options, async () => {
      const [pairs, wakeFrom, nextDelayedIn] = (await this.conn.run('claim', this.streamKeys, [GROUP, this.consumer, options.limit, leaseMs, `${newId()}:`])) as [
        string[],
        string | null,
        number,
      ];
      const out: Delivery[] = new Array<Delivery>(pairs.length / 2);
      for (let i = 0; i < pairs.length; i += 2) out[i / 2] = { taskId: pairs[i]!, leaseId: pairs[i + 1]! };
      return { items: out, wakeFrom, nextDelayedIn };
    });
  }

  /**
   * The waiting part of a claim: runs `attempt` (one claim script) and, while it finds nothing and
   * time is left, blocks on the stream until new work or the next delayed due time. The worker's
   * clock only bounds the wait; due-times and leases use Redis TIME.
   */
  async claimWith<T>(options: ClaimOptions, attempt: () => Promise<{ items: T[]; wakeFrom: string | null; nextDelayedIn: number }>): Promise<T[]> {
    if (options.limit <= 0) return [];
    const deadline = Date.now() + Math.max(0, options.waitMs);
    for (;;) {
      const { items, wakeFrom, nextDelayedIn } = await attempt();
      if (items.length > 0) return items;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || options.signal?.aborted || this.conn.isClosed) return [];
      // Only stale entries were read: look again at once.
      if (wakeFrom === null) continue;
      const ms = nextDelayedIn >= 0 ? Math.min(remaining, Math.max(1, nextDelayedIn)) : remaining;
      await this.conn.waitForEntry(this.keys.stream, wakeFrom, ms, options.signal);
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [GROUP];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return flags(await this.conn.run('ack', [this.keys.stream, this.keys.deliveries, this.keys.leases], args));
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [GROUP];
    for (const r of refs) args.push(r.taskId, r.leaseId, delay(r.delayMs));
    return flags(await this.conn.run('release', this.streamKeys, args));
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [Math.max(1, Math.ceil(leaseMs))];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return flags(await this.conn.run('extend', [this.keys.deliveries, this.keys.leases], args));
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (limit <= 0) return [];
    const pairs = (await this.conn.run('reclaim', [this.keys.stream, this.keys.deliveries, this.keys.leases], [GROUP, limit])) as string[];
    const out: LeaseRef[] = [];
    for (let i = 0; i < pairs.length; i += 2) out.push({ taskId: pairs[i]!, leaseId: pairs[i + 1]! });
    await this.maybePruneConsumers();
    return out;
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return Number(await this.conn.run('remove', this.streamKeys, [GROUP, ...taskIds]));
  }

  async depth(): Promise<QueueDepth> {
    const [ready, leased, delayed] = (await this.conn.run('depth', [this.keys.stream, this.keys.delayed, this.keys.leases], [])) as number[];
    return { ready: ready!, leased: leased!, delayed: delayed! };
  }

  /** Drops this process's consumer from the group (on close; nothing it holds is lost: leases live in the lease zset). */
  async removeConsumer(): Promise<void> {
    await this.conn.client.call('XGROUP', ['DELCONSUMER', this.keys.stream, GROUP, this.consumer]);
  }

  private async maybePruneConsumers(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.conn.run('prune-consumers', [this.keys.stream], [GROUP, CONSUMER_IDLE_PRUNE_MS]);
  }
}

function delay(ms: number | undefined): number {
  return ms !== undefined && ms > 0 ? Math.ceil(ms) : 0;
}

function flags(reply: unknown): boolean[] {
  return (reply as number[]).map((v) => v === 1);
}
