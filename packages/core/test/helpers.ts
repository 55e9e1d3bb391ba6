// What core's own tests share: a backend-shaped stub for the option compiler (every port present,
// none ever called).
import type { Backend } from '../src/ports/backend.js';

/** Passes compileOptions' shape checks; any port call rejects, so a test notices one. */
export function stubBackend(): Backend {
  const port = new Proxy({}, { get: (_t, prop) => (prop === 'then' ? undefined : () => Promise.reject(new Error(`stub backend: ${String(prop)} called`))) });
  return {
    name: 'stub',
    capabilities: { durable: false, multiProcess: false, transactionalEnqueue: false, pushWake: false, atomicEvents: false },
    queue: port as Backend['queue'],
    tasks: port as Backend['tasks'],
    checkpoints: port as Backend['checkpoints'],
    timers: port as Backend['timers'],
    heartbeats: port as Backend['heartbeats'],
    events: port as Backend['events'],
    coordination: port as Backend['coordination'],
    ready: async () => undefined,
    close: async () => undefined,
  };
}
