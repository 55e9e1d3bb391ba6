import type { Clock } from '../clock.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { EventLog } from './event-log.js';
import type { HeartbeatStore } from './heartbeat-store.js';
import type { Queue } from './queue.js';
import type { TaskStore } from './task-store.js';
import type { TimerStore } from './timer-store.js';
import type { TaskFlow } from './task-flow.js';

/** Passed through to stores that declare `transactionalEnqueue`: the application's open transaction (e.g. a pg client inside BEGIN). */
export interface WriteOptions {
  transaction?: unknown;
}

/** What a backend can do, declared rather than sniffed; core and the conformance suite read it. */
export interface BackendCapabilities {
  /** Data survives a process restart. */
  readonly durable: boolean;
  /** Several processes may share the backend at once. */
  readonly multiProcess: boolean;
  /** enqueue accepts `{ transaction }`: the task exists iff that transaction commits. */
  readonly transactionalEnqueue: boolean;
  /** claim's `waitMs` is woken by new work (no polling delay). */
  readonly pushWake: boolean;
}

export interface BackendPorts {
  readonly queue: Queue;
  readonly tasks: TaskStore;
  /** Must share storage with `tasks`: saves are fenced against the task's lease. */
  readonly checkpoints: CheckpointStore;
  readonly timers: TimerStore;
  readonly heartbeats: HeartbeatStore;
  readonly events: EventLog;
}

/** A complete set of stores; adapters export one (`memoryBackend()`, `sqliteBackend(...)`, …). */
export interface Backend extends BackendPorts {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Fused multi-port operations, when this backend can do them in one round trip. */
  readonly flow?: TaskFlow;
  /** The clock the engine paces its loops with; the memory backend supplies its controllable clock. */
  readonly clock?: Clock;
  /** Releases connections the backend opened itself (not ones the user passed in). */
  close(): Promise<void>;
}

/**
 * A backend assembled from stores of different backends (e.g. Redis queue and heartbeats,
 * Postgres for the rest). It has no `flow`: fused operations need one owner of every store they
 * touch. `close` closes each distinct source once.
 */
export function mixBackend(parts: BackendPorts & { name?: string; sources: Backend[]; capabilities?: Partial<BackendCapabilities> }): Backend {
  const sources = [...new Set(parts.sources)];
  const every = (key: keyof BackendCapabilities) => sources.length > 0 && sources.every((s) => s.capabilities[key]);
  return {
    name: parts.name ?? sources.map((s) => s.name).join('+'),
    capabilities: {
      durable: every('durable'),
      multiProcess: every('multiProcess'),
      transactionalEnqueue: false,
      pushWake: sources.find((s) => s.queue === parts.queue)?.capabilities.pushWake ?? false,
      ...parts.capabilities,
    },
    queue: parts.queue,
    tasks: parts.tasks,
    checkpoints: parts.checkpoints,
    timers: parts.timers,
    heartbeats: parts.heartbeats,
    events: parts.events,
    clock: sources.find((s) => s.clock)?.clock,
    async close() {
      for (const s of sources) await s.close();
    },
  };
}
