// What the engine's pieces share: the ports, the clock, options and the in-process services.
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { CompiledOptions } from './options.js';
import type { BackendPorts } from './ports/backend.js';
import type { TaskFlow } from './ports/task-flow.js';
import type { StoredError } from './ports/task-store.js';
import type { EventPublisher } from './event-publisher.js';
import type { Registry } from './registry.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { CheckpointManager } from './checkpoint-manager.js';
import type { Settler } from './settler.js';
import type { Hooks } from './hooks.js';
import { isBatonError, toError } from './errors.js';

export interface EngineContext {
  readonly ports: BackendPorts;
  /** The backend's fused operations, or their composition from `ports`. */
  readonly flow: TaskFlow;
  /** Events ride with the writes they record (capabilities.atomicEvents). */
  readonly atomicEvents: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: CompiledOptions;
  readonly workerId: string;
  readonly events: EventPublisher;
  readonly registry: Registry;
  readonly breaker: CircuitBreaker;
  readonly checkpoints: CheckpointManager;
  readonly settler: Settler;
  readonly hooks: Hooks;
  /** Wakes the local timer loop after a timer was scheduled. */
  readonly wakeTimers: () => void;
  /** Counts finished tasks so retention runs as often as throughput needs, not only on its timer. */
  readonly tasksFinished: (n: number) => void;
}

const MAX_MESSAGE = 2_000;
const MAX_STACK = 4_000;

/** The error as stored on a task: capped in length so secrets in long messages and stacks cannot pile up. */
export function storedError(value: unknown): StoredError {
  const err = toError(value);
  const code = isBatonError(err) ? err.code : (err as { code?: unknown }).code;
  return {
    name: String(err.name).slice(0, 100),
    message: String(err.message).slice(0, MAX_MESSAGE),
    code: typeof code === 'string' ? code.slice(0, 100) : null,
    stack: typeof err.stack === 'string' ? err.stack.slice(0, MAX_STACK) : null,
  };
}
