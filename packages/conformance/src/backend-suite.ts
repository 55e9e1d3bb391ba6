// The Backend object itself: a name and declared capabilities the engine and this suite read.
import { describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';

export function backendSuite(h: Harness): void {
  describe('Backend', () => {
    it('has a name, all six ports and capabilities declared as booleans', () => {
      const b = h.backend();
      expect(typeof b.name).toBe('string');
      expect(b.name.length).toBeGreaterThan(0);
      for (const port of ['queue', 'tasks', 'checkpoints', 'timers', 'heartbeats', 'events'] as const) expect(b[port]).toBeTruthy();
      const caps = b.capabilities;
      for (const key of ['durable', 'multiProcess', 'transactionalEnqueue', 'pushWake'] as const) expect(typeof caps[key]).toBe('boolean');
      if (b.clock !== undefined) expect(typeof b.clock.now()).toBe('number');
    });
  });
}
