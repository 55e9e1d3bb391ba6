// HeartbeatStore on the `heartbeats` KV bucket. NATS 2.9 has no per-key TTL, so each beat
// stores its own TTL and a reader treats an entry past it as gone; the bucket's max_age
// (heartbeatRetentionMs) removes entries nobody beats or removes any more.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core';
import { decodeToken, encodeToken } from './nats-names.js';
import type { NatsRuntime } from './nats-runtime.js';

interface BeatEntry {
  /** Last beat, backend ms. */
  at: number;
  ttl: number;
}

export class NatsHeartbeatStore implements HeartbeatStore {
  private warned = false;

  constructor(
    private readonly rt: NatsRuntime,
    private readonly retentionMs: number,
  ) {}

  async beat(beats: Beat[]): Promise<void> {
    if (beats.length === 0) return;
    await this.rt.run('record heartbeats', async (c) => {
      const now = c.clock.now();
      const long = beats.find((b) => b.ttlMs > this.retentionMs);
      if (long && !this.warned) {
        this.warned = true;
        c.logger.warn({ id: long.id, ttlMs: long.ttlMs, retentionMs: this.retentionMs }, 'NATS: heartbeat TTL exceeds the heartbeats bucket max_age; such entries vanish at max_age. Raise heartbeatRetentionMs.');
      }
      await Promise.all(beats.map((b) => c.buckets.heartbeats.put<BeatEntry>(encodeToken(b.id), { at: now, ttl: b.ttlMs })));
    });
  }

  async lastSeen(id: string): Promise<number | null> {
    return this.rt.run(`read heartbeat of ${id}`, async (c) => {
      const e = await c.buckets.heartbeats.get<BeatEntry>(encodeToken(id));
      if (!e || e.value.at + e.value.ttl <= c.clock.now()) return null;
      return e.value.at;
    });
  }

  async stale(olderThanMs: number, limit = 100): Promise<StaleEntry[]> {
    return this.rt.run('find stale heartbeats', async (c) => {
      const now = c.clock.now();
      const out: StaleEntry[] = [];
      await c.buckets.heartbeats.scan<BeatEntry>('>', (e) => {
        const { at, ttl } = e.value;
        if (at + ttl > now && now - at > olderThanMs) out.push({ id: decodeToken(e.key), lastSeen: at });
      });
      return out.sort((a, b) => a.lastSeen - b.lastSeen).slice(0, Math.max(0, limit));
    });
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.rt.run('remove heartbeats', async (c) => {
      await Promise.all([...new Set(ids)].map((id) => c.buckets.heartbeats.deleteKey(encodeToken(id))));
    });
  }
}
