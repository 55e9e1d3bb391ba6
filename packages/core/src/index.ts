// @baton/core public API.
export { generateKey, newId } from './idempotency.js';
export { validateName } from './names.js';
export { canonicalJson, parseJson, serializeJson, formatBytes } from './json.js';
export type { JsonValue, JsonObject, JsonPrimitive, JsonLimits } from './json.js';
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
  isRetryable,
  toError,
} from './errors.js';
export type { BatonErrorCode } from './errors.js';
export { systemClock, sleep } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { silentLogger, redactUrl } from './logger.js';
export type { Logger, LogFn } from './logger.js';
export { RetryPolicy } from './retry-policy.js';
export type { RetryPolicyOptions, ErrorClass } from './retry-policy.js';
export { compileOptions } from './options.js';
export type {
  BatonOptions,
  CompiledOptions,
  WorkerOptions,
  CheckpointOptions,
  RetentionOptions,
  RetentionRule,
  BreakerOptions,
} from './options.js';
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

// Ports
export { mixBackend } from './ports/backend.js';
export type { Backend, BackendPorts, BackendCapabilities, WriteOptions } from './ports/backend.js';
export { TASK_STATES, TERMINAL_STATES, ACTIVE_STATES, isTerminal } from './ports/task-store.js';
export type {
  TaskStore,
  TaskState,
  TerminalState,
  TaskRecord,
  NewTask,
  CreateResult,
  StartClaim,
  StartResult,
  TaskOutcome,
  RecoverResult,
  TaskFilter,
  TaskCount,
  PurgeOptions,
  Budget,
  Usage,
  StoredError,
} from './ports/task-store.js';
export type { Queue, QueueItem, LeaseRef, Delivery, ClaimOptions, QueueDepth } from './ports/queue.js';
export type { TaskFlow, ClaimedStart, SettleItem } from './ports/task-flow.js';
export { composeFlow, settledEffects } from './task-flow.js';
export type { CheckpointStore, CheckpointBlob, StoredCheckpoint, CheckpointStats } from './ports/checkpoint-store.js';
export type { TimerStore, TimerKind, NewTimer, TimerRecord, TimerFilter } from './ports/timer-store.js';
export type { HeartbeatStore, Beat, StaleEntry } from './ports/heartbeat-store.js';
export type { EventLog, EventType, NewEvent, StoredEvent, EventQuery } from './ports/event-log.js';

// Engine
export { Baton, createBaton } from './baton.js';
export type { BatonStats, StartOptions, StateCounts } from './baton.js';
export { BaseAgent, isAgentClass } from './base-agent.js';
export type { AgentClass, CheckpointCallback } from './base-agent.js';
export { CheckpointManager, TaskCheckpointer } from './checkpoint-manager.js';
export { encodeCheckpoint, decodeCheckpoint } from './checkpoint-codec.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { BreakerState } from './circuit-breaker.js';
export { Scheduler, splitBudget } from './scheduler.js';
export type { PhasePlan, PhaseContext, PlannedTask, ScheduleResult } from './scheduler.js';
export { TimerService } from './timer-service.js';
export type { TimerAction } from './timer-service.js';
export { WorkerPool } from './worker-pool.js';
export type { PoolStats } from './worker-pool.js';
export { Supervisor } from './supervisor.js';
export type { EventListener, EventFields } from './event-publisher.js';
