// In-process HeartbeatStore: last beat and expiry per id; expired entries read as absent and
// are dropped lazily.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
import type { MemoryState } from './memory-state.js';

export class MemoryHeartbeatStore implements HeartbeatStore {
  private readonly entries = new Map<string, { lastSeen: number; expiresAt: number }>();

  constructor(private readonly state: MemoryState) {}

  async beat(beats: Beat[]): Promise<void> {
    this.state.assertOpen();
    const now = this.state.now();
    for (const b of beats) {
      // Re-inserting keeps Map order roughly stalest-first, which stale() relies on only for speed.
      this.entries.delete(b.id);
      this.entries.set(b.id, { lastSeen: now, expiresAt: now + b.ttlMs });
    }
  }

  async lastSeen(id: string): Promise<number | null> {
    this.state.assertOpen();
    const e = this.entries.get(id);
    if (e === undefined) return null;
    if (e.expiresAt <= this.state.now()) {
      this.entries.delete(id);
      return null;
    }
    return e.lastSeen;
  }

  async stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const cutoff = now - olderThanMs;
    const out: StaleEntry[] = [];
    for (const [id, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(id);
        continue;
      }
      if (e.lastSeen < cutoff) out.push({ id, lastSeen: e.lastSeen });
    }
    out.sort((a, b) => a.lastSeen - b.lastSeen);
    return out.slice(0, limit);
  }

  async remove(ids: string[]): Promise<void> {
    this.state.assertOpen();
    for (const id of ids) this.entries.delete(id);
  }
}
