// HeartbeatStore on the heartbeats bucket. NATS 2.9 has no per-key TTL, so each beat stores its own
// TTL and a reader treats an entry past it as gone; the bucket's max_age (heartbeatRetentionMs)
// removes entries nobody beats or removes any more. An entry that cannot be decoded reads as absent.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
import { decodeJson, encodeJson, isNumber, isObject } from './nats-codec.js';
import { decodeToken, encodeToken } from './nats-names.js';
import type { NatsRuntime } from './nats-runtime.js';

interface BeatEntry {
  /** Last beat, backend ms. */
  at: number;
  ttl: number;
}

const isBeat = (v: unknown): v is BeatEntry => isObject(v) && isNumber(v['at']) && isNumber(v['ttl']);

export class NatsHeartbeatStore implements HeartbeatStore {
  private warned = false;

  constructor(
    private readonly rt: NatsRuntime,
    private readonly retentionMs: number,
  ) {}

  async beat(beats: Beat[]): Promise<void> {
    if (beats.length === 0) return;
    await this.rt.run('heartbeats.beat', async (c) => {
      const now = c.clock.now();
      const long = beats.find((b) => b.ttlMs > this.retentionMs);
      if (long && !this.warned) {
        this.warned = true;
        c.logger.warn({ id: long.id, ttlMs: long.ttlMs, retentionMs: this.retentionMs }, 'NATS: heartbeat TTL exceeds the heartbeats bucket max_age; such entries vanish at max_age. Raise heartbeatRetentionMs.');
      }
      await Promise.all(beats.map((b) => c.buckets.heartbeats.put(encodeToken(b.id), encodeJson({ at: now, ttl: b.ttlMs }))));
    });
  }

  async lastSeen(id: string): Promise<number | null> {
    return this.rt.run('heartbeats.lastSeen', async (c) => {
      const e = await c.buckets.heartbeats.get(encodeToken(id));
      const d = e ? decodeJson(e.data, isBeat) : null;
      if (!d?.ok || d.value.at + d.value.ttl <= c.clock.now()) return null;
      return d.value.at;
    });
  }

  async stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    return this.rt.run('heartbeats.stale', async (c) => {
      const now = c.clock.now();
      const out: StaleEntry[] = [];
      await c.buckets.heartbeats.scan('>', (e) => {
        const d = decodeJson(e.data, isBeat);
        const id = decodeToken(e.key);
        if (!d.ok || id === null) return;
        const { at, ttl } = d.value;
        if (at + ttl > now && now - at > olderThanMs) out.push({ id, lastSeen: at });
      });
      return out.sort((a, b) => a.lastSeen - b.lastSeen).slice(0, Math.max(0, limit));
    });
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.rt.run('heartbeats.remove', async (c) => {
      await Promise.all([...new Set(ids)].map((id) => c.buckets.heartbeats.deleteKey(encodeToken(id))));
    });
  }
}
