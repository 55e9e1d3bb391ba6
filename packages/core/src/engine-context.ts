// What the engine's pieces share: the ports, the clock, options and the in-process services.
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { CompiledOptions } from './options.js';
import type { BackendCapabilities, BackendPorts } from './ports/backend.js';
import type { TaskFlow } from './ports/task-flow.js';
import type { StoredError } from './ports/task-store.js';
import type { EventPublisher } from './event-publisher.js';
import type { Registry } from './registry.js';
import type { RetryPolicy } from './retry-policy.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { CheckpointManager } from './checkpoint-manager.js';
import type { Settler } from './settler.js';
import { BatonError, toError } from './errors.js';

export interface EngineContext {
  readonly ports: BackendPorts;
  /** The backend's fused operations, or their composition from `ports`. */
  readonly flow: TaskFlow;
  readonly capabilities: BackendCapabilities;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: CompiledOptions;
  readonly workerId: string;
  readonly events: EventPublisher;
  readonly registry: Registry;
  readonly retry: RetryPolicy;
  readonly breaker: CircuitBreaker;
  readonly checkpoints: CheckpointManager;
  readonly settler: Settler;
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
  return {
    name: err.name.slice(0, 100),
    message: err.message.slice(0, MAX_MESSAGE),
    code: err instanceof BatonError ? err.code : typeof (err as { code?: unknown }).code === 'string' ? String((err as { code?: unknown }).code).slice(0, 100) : null,
    stack: err.stack ? err.stack.slice(0, MAX_STACK) : null,
  };
}
