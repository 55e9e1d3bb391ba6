// @baton/core: what an application uses — createBaton and the facade's types, handler and option
// types, errors, the agent base class. Adapter authors import `@baton/core/adapter` instead.
export { Baton, createBaton } from './baton.js';
export type { BatonStats, StartOptions, StateCounts, Timers, Pool, Queues } from './baton.js';
export type { Admin, TaskDetails, GroupStats } from './admin.js';
export type { TaskFilterInput, EventQueryInput } from './normalize.js';
export { BaseAgent } from './base-agent.js';
export { healthHandler } from './health.js';
export type { HealthReport } from './health.js';
export { defineTask, SchemaValidationError } from './define-task.js';
export type { TaskDefinition, DefineTaskOptions, TypedTaskRecord, ResultOf } from './define-task.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type { AgentClass, CheckpointCallback } from './base-agent.js';
export type {
  Checkpoint,
  SaveCheckpointOptions,
  TaskContext,
  TaskHandler,
  RegisterOptions,
  EnqueueOptions,
  TaskSpec,
  EnqueueResult,
  WaitOptions,
} from './api.js';
export type {
  BatonOptions,
  WorkerOptions,
  CheckpointOptions,
  RetentionOptions,
  RetentionRule,
  BreakerOptions,
  QueueOptions,
} from './options.js';
export type { RetryPolicyOptions, ErrorClass } from './retry-policy.js';
export type { Scheduler, PhasePlan, PhaseContext, PlannedTask, ScheduleResult } from './scheduler.js';
export type { BreakerState } from './circuit-breaker.js';
export type { PoolStats } from './worker-pool.js';
export type { TimerAction } from './timer-service.js';
export type { EventListener, EventFields } from './event-publisher.js';
export type {
  Instrumentation,
  EnqueueInfo,
  EnqueueScope,
  RunInfo,
  RunScope,
  RunOutcome,
  CheckpointInfo,
  HeartbeatInfo,
  HeartbeatScope,
} from './instrumentation.js';
export {
  BatonError,
  ValidationError,
  PayloadTooLargeError,
  UnknownTaskTypeError,
  LeaseLostError,
  BudgetExceededError,
  PermanentError,
  TimeoutError,
  CancelledError,
  ConfigError,
  BackendError,
  BackendUnavailableError,
  SchemaError,
  NotFoundError,
  ShutdownError,
  InvalidStateError,
  isBatonError,
  isRetryable,
} from './errors.js';
export type { BatonErrorCode } from './errors.js';
export { generateKey } from './idempotency.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { silentLogger, stderrLogger, redactUrl } from './logger.js';
export type { Logger, LogFn, LogLevel } from './logger.js';
export type { JsonValue, JsonObject, JsonPrimitive } from './json.js';

// What an application reads back, and the backend it passes in (assembled with mixBackend for
// deployments that put ports on different servers).
export { mixBackend } from './ports/backend.js';
export type { Backend, BackendCapabilities } from './ports/backend.js';
export { TASK_STATES, TERMINAL_STATES, ACTIVE_STATES, isTerminal, DEFAULT_QUEUE, MAX_PRIORITY, MIN_PRIORITY } from './ports/task-store.js';
export type { TaskRecord, TaskState, TerminalState, Budget, Usage, StoredError, Corruption, CountBy } from './ports/task-store.js';
export type { EventType, NewEvent, StoredEvent } from './ports/event-log.js';
export type { QueueDepth, QueueInfo, QueueSettings, RateLimit } from './ports/queue.js';
export type { CheckpointStats } from './ports/checkpoint-store.js';
export type { TimerRecord, TimerKind } from './ports/timer-store.js';
