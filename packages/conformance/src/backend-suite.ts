// The Backend object itself: a name, every port, declared capabilities the engine and this
// suite read, and a `ready` the engine may call more than once.
import { describe, expect, it } from 'vitest';
import { silentLogger, type BackendCapabilities } from '@baton/core/adapter';
import { newTask, type Harness } from './harness.js';

const CAPABILITIES: readonly (keyof BackendCapabilities)[] = ['durable', 'multiProcess', 'transactionalEnqueue', 'pushWake', 'atomicEvents'];

export function backendSuite(h: Harness): void {
  describe('Backend', () => {
    it('has a name, all seven ports and every capability declared as a boolean', () => {
      const b = h.backend();
      expect(typeof b.name).toBe('string');
      expect(b.name.length).toBeGreaterThan(0);
      for (const port of ['queue', 'tasks', 'checkpoints', 'timers', 'heartbeats', 'events', 'coordination'] as const) expect(b[port], port).toBeTruthy();
      for (const key of CAPABILITIES) expect(typeof b.capabilities[key], key).toBe('boolean');
      if (b.clock !== undefined) expect(typeof b.clock.now()).toBe('number');
      if (b.flow !== undefined) for (const op of ['createAndEnqueue', 'claimAndStart', 'finishAndSettle', 'heartbeat'] as const) expect(typeof b.flow[op], op).toBe('function');
    });

    it('ready is idempotent: calling it again keeps the backend working and its data intact', async () => {
      const b = h.backend();
      const t = newTask();
      await b.tasks.create([t]);
      await b.ready({ logger: silentLogger });
      await Promise.all([b.ready({ logger: silentLogger }), b.ready({ logger: silentLogger })]);
      expect((await b.tasks.get(t.id))?.id).toBe(t.id);
      const next = newTask();
      expect(await b.tasks.create([next])).toEqual([{ id: next.id, duplicate: false }]);
    });
  });
}
