// @baton/core/adapter: what an adapter author needs and nothing else — the ports, the task
// state machine, and the shared helpers every adapter uses (names, JSON, checkpoints, filters,
// retention, options, errors). Applications import `@baton/core` instead.

// Ports
export type { WriteOptions } from './ports/write-options.js';
export { mixBackend } from './ports/backend.js';
export type { Backend, BackendPorts, BackendCapabilities, ReadyContext } from './ports/backend.js';
export {
  TASK_STATES,
  TERMINAL_STATES,
  ACTIVE_STATES,
  isTerminal,
  MAX_PRIORITY,
  MIN_PRIORITY,
  DEFAULT_QUEUE,
} from './ports/task-store.js';
export type {
  TaskStore,
  TaskState,
  TerminalState,
  TaskRecord,
  NewTask,
  CreateResult,
  StartClaim,
  StartResult,
  Audited,
  TaskOutcome,
  RecoverItem,
  RecoverResult,
  TaskFilter,
  TaskQuery,
  TaskPage,
  CountBy,
  TaskCount,
  PurgeOptions,
  RetryOptions,
  TransitionOptions,
  Budget,
  Usage,
  StoredError,
  Corruption,
} from './ports/task-store.js';
export { DEFAULT_QUEUE_SETTINGS } from './ports/queue.js';
export type { Queue, QueueItem, LeaseRef, Delivery, ClaimOptions, QueueDepth, QueueInfo, QueueSettings, RateLimit } from './ports/queue.js';
export type { TaskFlow, ClaimedStart, SettleItem } from './ports/task-flow.js';
export type { CheckpointStore, CheckpointBlob, StoredCheckpoint, CheckpointStats } from './ports/checkpoint-store.js';
export type { TimerStore, TimerKind, NewTimer, TimerRecord, TimerFilter } from './ports/timer-store.js';
export { heartbeatId } from './ports/heartbeat-store.js';
export type { HeartbeatStore, Beat, StaleEntry } from './ports/heartbeat-store.js';
export { EVENT_TYPES } from './ports/event-log.js';
export type { EventLog, EventType, NewEvent, StoredEvent, EventQuery, EventPurgeOptions } from './ports/event-log.js';
export type { CoordinationStore, Versioned } from './ports/coordination-store.js';

// The state machine
export * as transitions from './task-transitions.js';

// Shared helpers
export { composeFlow, settledEffects } from './task-flow.js';
export { matchesTaskFilter, retentionVictims, orderCursor } from './task-filter.js';
export type { RetentionEntry } from './task-filter.js';
export { intOption, numberOption, enumOption, boolOption } from './option-helpers.js';
export { validateName, validateQueueName, validateText, validateTaskType } from './names.js';
export { canonicalJson, parseJson, serializeJson, formatBytes } from './json.js';
export type { JsonValue, JsonObject, JsonPrimitive, JsonLimits } from './json.js';
export { encodeCheckpoint, decodeCheckpoint } from './checkpoint-codec.js';
export type { CodecOptions } from './checkpoint-codec.js';
export { generateKey, newId } from './idempotency.js';
/** Ids for events a store writes itself: unique across processes like a UUID, a fraction of its cost. */
export { eventId } from './event-publisher.js';
export { systemClock, sleep } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { silentLogger, redactUrl } from './logger.js';
export type { Logger, LogFn } from './logger.js';
export {
  BatonError,
  ValidationError,
  PayloadTooLargeError,
  ConfigError,
  BackendError,
  BackendUnavailableError,
  SchemaError,
  NotFoundError,
  isBatonError,
  toError,
} from './errors.js';
export type { BatonErrorCode } from './errors.js';
