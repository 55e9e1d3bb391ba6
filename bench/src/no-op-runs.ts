// Scenario 3's shape for the cost probes (redis-costs, pg-costs): N pre-enqueued no-op tasks.
import type { Baton, JsonObject } from '@baton/core';
import { makePayloads } from './payload.js';

/** Enqueues n payloads of type `bench` in batches of 1,000. */
export async function enqueueBench(baton: Baton, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1_000) await baton.enqueueMany(makePayloads(i, Math.min(1_000, n - i)).map((p) => ({ type: 'bench', input: p as unknown as JsonObject })));
}

/** Registers a no-op `bench` handler; resolves once n tasks have completed (the caller starts the worker). */
export function noOpCompletions(baton: Baton, n: number): Promise<void> {
  let done = 0;
  return new Promise<void>((resolve) => {
    baton.register('bench', async () => null);
    baton.on('task.completed', () => {
      if (++done === n) resolve();
    });
  });
}
