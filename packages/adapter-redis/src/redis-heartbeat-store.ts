// HeartbeatStore on Redis: a key per id holding the last beat time with a PX TTL (so liveness ends
// by itself), a zset of last beats for stale() scans, and a zset of expiries so entries of ids
// that stopped beating (finished tasks) are pruned by later beats instead of piling up.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
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
    const args: RedisArg[] = [];
    for (const b of beats) args.push(b.id, Math.max(1, Math.ceil(b.ttlMs)));
    await this.conn.run('heartbeats.beat', 'beat', args);
  }

  async lastSeen(id: string): Promise<number | null> {
    const v = (await this.conn.guard('heartbeats.lastSeen', (c) => c.call('GET', [this.keys.beat(id)]))) as string | null;
    return v === null ? null : Number(v);
  }

  async stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    if (limit <= 0) return [];
    const flat = (await this.conn.run('heartbeats.stale', 'beat-stale', [Math.max(0, olderThanMs), limit])) as string[];
    const out: StaleEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, lastSeen: Number(flat[i + 1]) });
    return out;
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.conn.run('heartbeats.remove', 'beat-remove', ids);
  }
}
