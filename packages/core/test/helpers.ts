import { createBaton, type Baton, type BatonOptions, type TaskRecord } from '@baton/core';
import { FakeClock, memoryBackend, type MemoryBackend } from '@baton/memory';

export interface Harness {
  clock: FakeClock;
  backend: MemoryBackend;
  baton: Baton;
  /** Lets the engine run (advancing fake time in small steps) until `cond` holds. */
  until(cond: () => boolean | Promise<boolean>, what?: string, stepMs?: number, maxSteps?: number): Promise<void>;
  /** A task record, asserting it exists. */
  task(id: string): Promise<TaskRecord>;
}

export function harness(options: Partial<BatonOptions> = {}, shared?: { clock: FakeClock; backend: MemoryBackend }): Harness {
  const clock = shared?.clock ?? new FakeClock();
  const backend = shared?.backend ?? memoryBackend({ clock });
  const baton = createBaton({ backend, ...options, worker: { pollIntervalMs: 50, concurrency: 4, ...options.worker } });
  return {
    clock,
    backend,
    baton,
    async until(cond, what = 'condition', stepMs = 10, maxSteps = 2_000) {
      for (let i = 0; i < maxSteps; i++) {
        if (await cond()) return;
        await clock.advance(stepMs);
      }
      throw new Error(`gave up waiting for ${what} after ${maxSteps} steps of ${stepMs} ms`);
    },
    async task(id) {
      const t = await backend.tasks.get(id);
      if (!t) throw new Error(`task ${id} not found`);
      return t;
    },
  };
}
