import type { JsonValue } from '../json.js';
import type { NewEvent } from './event-log.js';
import type { LeaseRef } from './queue.js';
import type { WriteOptions } from './write-options.js';

export type TaskState = 'pending' | 'running' | 'scheduled' | 'completed' | 'dead' | 'cancelled';
export type TerminalState = 'completed' | 'dead' | 'cancelled';

export const TASK_STATES: readonly TaskState[] = ['pending', 'running', 'scheduled', 'completed', 'dead', 'cancelled'];
export const TERMINAL_STATES: readonly TerminalState[] = ['completed', 'dead', 'cancelled'];
export const ACTIVE_STATES: readonly TaskState[] = ['pending', 'running', 'scheduled'];

export function isTerminal(state: TaskState): state is TerminalState {
  return state === 'completed' || state === 'dead' || state === 'cancelled';
}

/** Limits a task runs under; the scheduler splits a phase budget across its tasks. */
export interface Budget {
  costUsd?: number;
  tokens?: number;
  /** Wall-clock time one run may take. */
  timeMs?: number;
}

export interface Usage {
  costUsd: number;
  tokens: number;
}

/** An error as stored on a task: plain data, length-capped by core before it is written. */
export interface StoredError {
  name: string;
  message: string;
  code: string | null;
  stack: string | null;
}

/**
 * Set on a record a store could not decode. The store moved the task to `dead` with error code
 * `CORRUPT_RECORD` (once, appending one `task.corrupt` event) and kept the undecodable bytes.
 */
export interface Corruption {
  /** The stored field that could not be decoded (`input`, `result`, `budget`, …). */
  field: string;
  reason: string;
  /** The stored text as found (capped at 64 KB), for inspection. */
  raw: string;
}

/**
 * A task as stored. The fields each lifecycle change writes are defined once, in core's
 * `task-transitions.ts`; every adapter writes exactly those.
 */
export interface TaskRecord {
  id: string;
  type: string;
  /** The named queue the task waits in; workers claim only from queues they serve. */
  queue: string;
  /** Higher runs first within its queue; FIFO within one priority. */
  priority: number;
  /** Tasks sharing a group (a tenant, an API key) count against the queue's groupConcurrency together. */
  group: string | null;
  /** The input as the user sent it; null only when `corruption` says it could not be decoded. */
  input: JsonValue;
  state: TaskState;
  idempotencyKey: string;
  runId: string | null;
  phaseId: string | null;
  /** Failed runs so far (a reclaim after a crash is not a failure). */
  attempt: number;
  /** Retries allowed after the first failed run. */
  maxRetries: number;
  /** Times the task was reclaimed after its holder stopped heartbeating. */
  recoveries: number;
  budget: Budget | null;
  usage: Usage;
  /** The last value the handler reported with `ctx.reportProgress`; cleared when a new run starts over. */
  progress: JsonValue | null;
  /** Set exactly while the task is running: the lease that fences every write of its holder. */
  leaseId: string | null;
  /** The worker holding the lease; set exactly while the task is running. */
  workerId: string | null;
  /** True once a checkpoint was saved, so a claim knows whether to load one. */
  hasCheckpoint: boolean;
  result: JsonValue | null;
  /** The most recent failure; kept through retries, cleared when the task completes. */
  error: StoredError | null;
  durationMs: number | null;
  /** Epoch milliseconds by the backend's clock. */
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  /** Last heartbeat of the current run (backend clock); null when not running. */
  heartbeatAt: number | null;
  finishedAt: number | null;
  /** Propagation fields stored at enqueue (e.g. a W3C traceparent), so a run links to its producer across processes and crashes. */
  traceContext: Record<string, string> | null;
  corruption: Corruption | null;
}

/** Largest and smallest task priority. */
export const MAX_PRIORITY = 10_000;
export const MIN_PRIORITY = -10_000;
export const DEFAULT_QUEUE = 'default';

export interface NewTask {
  /** Chosen by core, so the task id is known before any write. */
  id: string;
  type: string;
  queue: string;
  priority: number;
  group: string | null;
  input: JsonValue;
  idempotencyKey: string;
  /** How long the key maps to this task; a later create with the key after that makes a new task. */
  keyTtlMs: number;
  runId: string | null;
  phaseId: string | null;
  maxRetries: number;
  budget: Budget | null;
  /** Propagation fields from the instrumentation hooks; null when none. */
  traceContext: Record<string, string> | null;
}

export interface CreateResult {
  /** The new task's id, or the existing task's when `duplicate`. */
  id: string;
  duplicate: boolean;
}

export interface StartClaim {
  taskId: string;
  leaseId: string;
  workerId: string;
}

/**
 * `task` is set when the task moved pending → running; otherwise `state` says where it is
 * (null: unknown id). When it is 'running', `leaseId` is the lease it runs under: a claimer that
 * holds the task's live delivery knows that lease is stale (one live delivery per task) and
 * recovers it. `corrupt` is set when the store found the record undecodable and quarantined it
 * just now (state 'dead'): core logs it once.
 */
export type StartResult =
  | { taskId: string; task: TaskRecord }
  | { taskId: string; task: null; state: TaskState | null; leaseId?: string | null; corrupt?: Corruption };

/** Events to append with a write, iff the write applies (see `BackendCapabilities.atomicEvents`). */
export interface Audited {
  /**
   * Appended in the same atomic write as the change they record, only if it applied. In a batch
   * write, events follow the order of the items, and each item's events keep their order. Stored
   * as given, except `runId` and `phaseId`, which are taken from the task record.
   */
  events?: NewEvent[];
}

/** How a run ended, written only if the run still holds the lease. */
export interface TaskOutcome extends Audited {
  taskId: string;
  leaseId: string;
  /**
   * completed / dead: terminal. scheduled: waits for a retry timer, `attempt` incremented.
   * pending: handed back unfinished (graceful shutdown, open breaker), nothing counted.
   */
  state: 'completed' | 'dead' | 'scheduled' | 'pending';
  result?: JsonValue;
  error?: StoredError;
  durationMs?: number;
}

export interface RecoverItem extends LeaseRef {
  /** Written as the task's error when this recovery makes it dead (core composes it; stores never do). */
  poisonPill: StoredError;
  /** Appended when the task went back to pending. */
  recoveredEvents?: NewEvent[];
  /** Appended when the task went dead as a poison pill. */
  deadEvents?: NewEvent[];
}

export type RecoverResult = 'recovered' | 'dead' | 'skipped';

/** Every filter field is already validated by core. */
export interface TaskFilter {
  /** De-duplicated. */
  ids?: string[];
  /** Non-empty when given. */
  states?: TaskState[];
  type?: string;
  queue?: string;
  runId?: string;
  phaseId?: string;
  /** createdAt ≥ since (epoch ms). */
  since?: number;
  /** createdAt < until (epoch ms). */
  until?: number;
  /** Only tasks not updated within this many ms, by the backend's clock. */
  idleForMs?: number;
}

/** A page request, already normalised by core. */
export interface TaskQuery extends TaskFilter {
  /** Integer 0–1000. */
  limit: number;
  /**
   * Resume after the last task of a previous page (opaque, made by the same store). A cursor this
   * store did not make is refused with a ValidationError. It stays valid after its task is deleted.
   */
  cursor?: string;
}

export interface TaskPage {
  /** Matching tasks in creation order, oldest first. */
  tasks: TaskRecord[];
  /**
   * Pass back to get the next page; null when this page holds the last matching task (stores look
   * one row ahead). Pages are stable under concurrent writes: every task that matches throughout
   * is returned exactly once. A `limit: 0` page returns no tasks and may return a null cursor.
   */
  cursor: string | null;
}

export type CountBy = 'phase' | 'queue' | 'type';

export interface TaskCount {
  /** The phase id, queue or type (null: tasks without a phase). */
  key: string | null;
  state: TaskState;
  count: number;
  /** Smallest updatedAt among them: for pending tasks, when the longest-waiting one became ready. */
  oldestUpdatedAt: number;
}

export interface PurgeOptions {
  state: TerminalState;
  /** Delete tasks that finished more than this many ms ago, or… */
  olderThanMs: number;
  /** …that are beyond the newest `keepLatest` in that state. */
  keepLatest: number;
  /** Most rows removed by one call. */
  limit: number;
}

export interface RetryOptions {
  /** Start counting attempts and recoveries from 0 again (else the retry is one more attempt). */
  resetAttempts: boolean;
  /** Aligned with the ids: appended for each task that moved. */
  events?: (NewEvent[] | undefined)[];
}

export interface TransitionOptions {
  /** Written as the task's error. */
  error?: StoredError;
  /** Aligned with the ids: appended for each task that moved. */
  events?: (NewEvent[] | undefined)[];
}

/**
 * Task records and their state machine. Every state change is atomic per task. Stores of a
 * backend with `capabilities.atomicEvents` append the events handed to a write in that same
 * write; other stores ignore them (core then appends them to the EventLog itself).
 */
export interface TaskStore {
  /**
   * Creates each task unless its idempotency key maps to a task created within the key's TTL;
   * then returns that task's id with `duplicate: true`. Concurrent creates of one key create one
   * task. `events[i]` is appended iff task i was created.
   */
  create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]>;
  /** The task, or null when unknown (or purged). Never throws on a corrupt record: it is quarantined and returned with `corruption`. */
  get(id: string): Promise<TaskRecord | null>;
  /** A page of tasks matching every given field, in creation order. */
  list(query: TaskQuery): Promise<TaskPage>;
  /** Task counts grouped by the given key and state. */
  counts(by: CountBy): Promise<TaskCount[]>;
  /**
   * Moves each pending task to running under the given lease (`transitions.start`); others are
   * left as they are. With `startedEvents`, appends `transitions.startedEvent` for each task started.
   */
  start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]>;
  /** Applies each outcome only if the task is running under `leaseId` (`transitions.finish`). Returns per outcome whether it applied. */
  finish(outcomes: TaskOutcome[]): Promise<boolean[]>;
  /** Records a heartbeat (`heartbeatAt`) of each task running under `leaseId`; false where the lease moved on. */
  heartbeat(refs: LeaseRef[]): Promise<boolean[]>;
  /**
   * For each task still running under `leaseId`: back to pending with recoveries + 1, or dead
   * with `poisonPill` as its error when recoveries would exceed `maxRecoveries` (`transitions.recover`).
   */
  recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]>;
  /** Unfenced move of each listed task whose state is in `from` to `to` (`transitions.transition`). Returns the ids that moved. */
  transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]>;
  /** Moves each finished (terminal) task back to pending for another run (`transitions.retry`). Returns the ids that moved. */
  retry(ids: string[], options: RetryOptions): Promise<string[]>;
  /** Adds usage to a task running under `leaseId`; returns the new totals, or null if the lease moved on. */
  recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null>;
  /** Stores the progress of a task running under `leaseId`; false if the lease moved on. */
  setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean>;
  /**
   * Removes finished tasks per the retention options, oldest first; returns how many. A removed
   * task's idempotency key no longer maps to it: the same key creates a new task.
   */
  purge(options: PurgeOptions): Promise<number>;
  /** Removes the listed tasks that are finished (terminal), with their checkpoints and key mappings; returns how many. */
  delete(ids: string[]): Promise<number>;
}
