import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { CoordinationStore } from './coordination-store.js';
import type { EventLog } from './event-log.js';
import type { HeartbeatStore } from './heartbeat-store.js';
import type { Queue } from './queue.js';
import type { TaskStore } from './task-store.js';
import type { TimerStore } from './timer-store.js';
import type { TaskFlow } from './task-flow.js';

/** What a backend can do, declared rather than sniffed; core and the conformance suite read it. */
export interface BackendCapabilities {
  /** Data survives a process restart. */
  readonly durable: boolean;
  /** Several processes may share the backend at once. */
  readonly multiProcess: boolean;
  /** enqueue accepts `{ transaction }`: the task exists iff that transaction commits. */
  readonly transactionalEnqueue: boolean;
  /** claim's `waitMs` is woken by new work within a few ms (no polling delay). */
  readonly pushWake: boolean;
  /**
   * The TaskStore and CheckpointStore append the events handed to a write in that same atomic
   * write (they share storage with the EventLog), and `start` can append `task.started`: an audit
   * record is never lost or written without its change. Without it, core appends after each write.
   */
  readonly atomicEvents: boolean;
}

export interface BackendPorts {
  readonly queue: Queue;
  readonly tasks: TaskStore;
  /** Must share storage with `tasks`: saves are fenced against the task's lease. */
  readonly checkpoints: CheckpointStore;
  readonly timers: TimerStore;
  readonly heartbeats: HeartbeatStore;
  readonly events: EventLog;
  readonly coordination: CoordinationStore;
}

/** What the engine hands a backend when it starts (`Backend.ready`). */
export interface ReadyContext {
  /** The baton's logger: adapters log through it (warnings about their server, reconnects). */
  logger: Logger;
}

/** A complete set of stores; adapters export one (`memoryBackend()`, `sqliteBackend(...)`, …). */
export interface Backend extends BackendPorts {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Fused multi-port operations, when this backend can do them in one round trip. */
  readonly flow?: TaskFlow;
  /** The clock the engine paces its loops with; the memory backend supplies its controllable clock. */
  readonly clock?: Clock;
  /**
   * Connects, checks the server (reachable, schema version) and prepares what the stores need.
   * `baton.start()` awaits it and fails with its error. Idempotent.
   */
  ready(context: ReadyContext): Promise<void>;
  /**
   * One live round trip to the server (not cached): resolves with the stored schema version
   * (null for backends without one), rejects when the server cannot be reached or its schema is
   * not this code's. `baton.health()` uses it; without it, health probes with a queue read.
   */
  check?(): Promise<{ schemaVersion: number | null }>;
  /** Releases connections the backend opened itself (not ones the user passed in). */
  close(): Promise<void>;
}

/**
 * A backend assembled from stores of different backends (e.g. Redis queue and heartbeats,
 * Postgres for the rest). It has no `flow`: fused operations need one owner of every store they
 * touch. Events go with writes only when tasks, checkpoints and events share one source that
 * declares `atomicEvents`. `ready` and `close` reach each distinct source once.
 */
export function mixBackend(parts: BackendPorts & { name?: string; sources: Backend[]; capabilities?: Partial<BackendCapabilities> }): Backend {
  const sources = [...new Set(parts.sources)];
  const every = (key: keyof BackendCapabilities) => sources.length > 0 && sources.every((s) => s.capabilities[key]);
  const owner = sources.find((s) => s.tasks === parts.tasks);
  const atomicEvents = owner !== undefined && owner.capabilities.atomicEvents && owner.checkpoints === parts.checkpoints && owner.events === parts.events;
  return {
    name: parts.name ?? sources.map((s) => s.name).join('+'),
    capabilities: {
      durable: every('durable'),
      multiProcess: every('multiProcess'),
      transactionalEnqueue: false,
      pushWake: sources.find((s) => s.queue === parts.queue)?.capabilities.pushWake ?? false,
      atomicEvents,
      ...parts.capabilities,
    },
    queue: parts.queue,
    tasks: parts.tasks,
    checkpoints: parts.checkpoints,
    timers: parts.timers,
    heartbeats: parts.heartbeats,
    events: parts.events,
    coordination: parts.coordination,
    clock: sources.find((s) => s.clock)?.clock,
    async ready(context) {
      for (const s of sources) await s.ready(context);
    },
    async check() {
      let schemaVersion: number | null = null;
      for (const s of sources) {
        const r = s.check ? await s.check() : (await s.queue.depth(), { schemaVersion: null });
        schemaVersion ??= r.schemaVersion;
      }
      return { schemaVersion };
    },
    async close() {
      for (const s of sources) await s.close();
    },
  };
}
