// The in-process backend: every port over plain Maps and heaps, one shared clock as "the backend
// clock". Meant for tests, single-process demos and as the reference the other adapters are
// compared with; nothing survives the process.
import { systemClock, type Backend, type BackendCapabilities, type Clock } from '@baton/core/adapter';
import { MemoryCheckpointStore } from './memory-checkpoint-store.js';
import { MemoryCoordinationStore } from './memory-coordination-store.js';
import { MemoryEventLog } from './memory-event-log.js';
import { MemoryHeartbeatStore } from './memory-heartbeat-store.js';
import { MemoryQueue } from './memory-queue.js';
import { MemoryState } from './memory-state.js';
import { MemoryTaskFlow } from './memory-task-flow.js';
import { MemoryTaskStore } from './memory-task-store.js';
import { MemoryTimerStore } from './memory-timer-store.js';

export interface MemoryBackendOptions {
  /**
   * The backend clock: stored times, leases, delays, rate limits and TTLs all read it. On the
   * default real clock the backend keeps the process alive while it holds a pending delivery or
   * timer (a script that enqueues delayed or retried work does not exit before it runs); with a
   * FakeClock it does not. @default systemClock
   */
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
  // Every store appends to the one in-process event list in the same synchronous step as its write.
  atomicEvents: true,
});

/** A fresh, empty in-process backend. After `close()` every call rejects with BackendUnavailableError. */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const clock = options.clock ?? systemClock;
  const state = new MemoryState(clock, options.clock === undefined);
  const queue = new MemoryQueue(state);
  const tasks = new MemoryTaskStore(state);
  const checkpoints = new MemoryCheckpointStore(state);
  return {
    name: options.name ?? 'memory',
    capabilities: CAPABILITIES,
    clock,
    queue,
    tasks,
    checkpoints,
    flow: new MemoryTaskFlow(state, queue, tasks, checkpoints),
    timers: new MemoryTimerStore(state),
    heartbeats: new MemoryHeartbeatStore(state),
    events: new MemoryEventLog(state),
    coordination: new MemoryCoordinationStore(state),
    async ready() {
      // Nothing to connect or set up; a closed backend stays closed.
      state.assertOpen();
    },
    async close() {
      state.close();
    },
  };
}
