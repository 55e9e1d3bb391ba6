// HeartbeatStore: last beat per id with a TTL, stale listing stalest first.
import { describe, expect, it } from 'vitest';
import { heartbeatId } from '@baton/core/adapter';
import { isEpochMs, sleep, type Harness } from './harness.js';

export function heartbeatStoreSuite(h: Harness): void {
  describe('HeartbeatStore', () => {
    it('beat records the time of the last beat; unknown ids are null', async () => {
      const b = h.backend();
      await b.heartbeats.beat([{ id: 'worker-1', ttlMs: 60_000 }, { id: 'task-1', ttlMs: 60_000 }]);
      const first = await b.heartbeats.lastSeen('worker-1');
      expect(isEpochMs(first)).toBe(true);
      expect(isEpochMs(await b.heartbeats.lastSeen('task-1'))).toBe(true);
      expect(await b.heartbeats.lastSeen('never')).toBeNull();
      await sleep(50);
      await b.heartbeats.beat([{ id: 'worker-1', ttlMs: 60_000 }]);
      expect(await b.heartbeats.lastSeen('worker-1')).toBeGreaterThan(first!);
    });

    it('an entry disappears once its TTL passes, and a new beat renews it', async () => {
      const b = h.backend();
      await b.heartbeats.beat([{ id: 'short', ttlMs: 200 }, { id: 'renewed', ttlMs: 400 }]);
      await sleep(250);
      await b.heartbeats.beat([{ id: 'renewed', ttlMs: 5_000 }]);
      await sleep(450);
      expect(await b.heartbeats.lastSeen('short')).toBeNull();
      expect(await b.heartbeats.lastSeen('renewed')).not.toBeNull();
      expect((await b.heartbeats.stale(0, 1000)).map((s) => s.id)).not.toContain('short');
    });

    it('stale lists live entries older than olderThanMs, stalest first, up to limit', async () => {
      const b = h.backend();
      await b.heartbeats.beat([{ id: 'oldest', ttlMs: 60_000 }, { id: 'expired', ttlMs: 150 }]);
      await sleep(500);
      await b.heartbeats.beat([{ id: 'older', ttlMs: 60_000 }]);
      await sleep(500);
      await b.heartbeats.beat([{ id: 'fresh', ttlMs: 60_000 }]);
      const stale = await b.heartbeats.stale(300, 1000);
      expect(stale.map((s) => s.id)).toEqual(['oldest', 'older']);
      expect(stale[0]!.lastSeen).toBe(await b.heartbeats.lastSeen('oldest'));
      expect((await b.heartbeats.stale(300, 1)).map((s) => s.id)).toEqual(['oldest']);
      expect(await b.heartbeats.stale(300, 0)).toEqual([]);
    });

    it('the ids core beats under (worker:<id>, task:<id>) are kept apart and listed as given', async () => {
      const b = h.backend();
      await b.heartbeats.beat([{ id: heartbeatId.worker('w-1'), ttlMs: 60_000 }, { id: heartbeatId.task('w-1'), ttlMs: 60_000 }]);
      await b.heartbeats.remove([heartbeatId.task('w-1')]);
      expect(isEpochMs(await b.heartbeats.lastSeen('worker:w-1'))).toBe(true);
      expect(await b.heartbeats.lastSeen('task:w-1')).toBeNull();
      await sleep(100);
      expect((await b.heartbeats.stale(50, 1000)).map((s) => s.id)).toEqual(['worker:w-1']);
    });

    it('remove forgets entries', async () => {
      const b = h.backend();
      await b.heartbeats.beat([{ id: 'a', ttlMs: 60_000 }, { id: 'b', ttlMs: 60_000 }]);
      await b.heartbeats.remove(['a', 'unknown']);
      expect(await b.heartbeats.lastSeen('a')).toBeNull();
      expect(await b.heartbeats.lastSeen('b')).not.toBeNull();
      expect((await b.heartbeats.stale(0, 1000)).map((s) => s.id)).not.toContain('a');
    });
  });
}
