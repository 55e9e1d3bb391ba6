// The in-process backend: every port over plain Maps, one shared clock as "the backend clock".
// Meant for tests and single-process demos; nothing survives the process.
import { systemClock, type Backend, type BackendCapabilities, type Clock } from '@baton/core';
import { MemoryCheckpointStore } from './memory-checkpoint-store.js';
import { MemoryEventLog } from './memory-event-log.js';
import { MemoryHeartbeatStore } from './memory-heartbeat-store.js';
import { MemoryQueue } from './memory-queue.js';
import { MemoryState } from './memory-state.js';
import { MemoryTaskStore } from './memory-task-store.js';
import { MemoryTimerStore } from './memory-timer-store.js';

export interface MemoryBackendOptions {
  /** The backend clock: stored times, leases, delays and TTLs all read it. @default systemClock */
  clock?: Clock;
  /** @default 'memory' */
  name?: string;
}

export interface MemoryBackend extends Backend {
  /** Always set: the engine paces its loops with the same clock the stores read. */
  readonly clock: Clock;
}

const CAPABILITIES: BackendCapabilities = Object.freeze({
  durable: false,
  multiProcess: false,
  transactionalEnqueue: false,
  pushWake: true,
});

/** A fresh, empty in-process backend. After `close()` every call rejects with BackendUnavailableError. */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const clock = options.clock ?? systemClock;
  const state = new MemoryState(clock);
  return {
    name: options.name ?? 'memory',
    capabilities: CAPABILITIES,
    clock,
    queue: new MemoryQueue(state),
    tasks: new MemoryTaskStore(state),
    checkpoints: new MemoryCheckpointStore(state),
    timers: new MemoryTimerStore(state),
    heartbeats: new MemoryHeartbeatStore(state),
    events: new MemoryEventLog(state),
    async close() {
      state.close();
    },
  };
}
