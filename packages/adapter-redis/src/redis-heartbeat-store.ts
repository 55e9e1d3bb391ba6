// HeartbeatStore on Redis: a key per id holding the last beat time with a PX TTL (so liveness ends
// by itself), plus a zset of last beats for stale() scans, pruned of expired ids as it is read.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core';
import type { Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';

export class RedisHeartbeatStore implements HeartbeatStore {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async beat(beats: Beat[]): Promise<void> {
    if (beats.length === 0) return;
    const args: RedisArg[] = [this.keys.P];
    for (const b of beats) args.push(b.id, Math.max(1, Math.ceil(b.ttlMs)));
    await this.conn.run('heartbeat-beat', [this.keys.heartbeats], args);
  }

  async lastSeen(id: string): Promise<number | null> {
    const v = (await this.conn.command('GET', [this.keys.heartbeat(id)])) as string | null;
    return v === null ? null : Number(v);
  }

  async stale(olderThanMs: number, limit = 100): Promise<StaleEntry[]> {
    if (limit <= 0) return [];
    const flat = (await this.conn.run('heartbeat-stale', [this.keys.heartbeats], [this.keys.P, Math.max(0, olderThanMs), limit])) as string[];
    const out: StaleEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, lastSeen: Number(flat[i + 1]) });
    return out;
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.conn.run('heartbeat-remove', [this.keys.heartbeats], [this.keys.P, ...ids]);
  }
}
