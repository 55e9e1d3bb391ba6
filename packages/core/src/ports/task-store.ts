import type { JsonValue } from '../json.js';
import type { WriteOptions } from './backend.js';

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

export interface TaskRecord {
  id: string;
  type: string;
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
  leaseId: string | null;
  workerId: string | null;
  /** True once a checkpoint was saved, so a claim knows whether to load one. */
  hasCheckpoint: boolean;
  result: JsonValue | null;
  error: StoredError | null;
  durationMs: number | null;
  /** Epoch milliseconds by the backend's clock. */
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface NewTask {
  /** Chosen by core, so the task id is known before any write. */
  id: string;
  type: string;
  input: JsonValue;
  idempotencyKey: string;
  /** How long the key maps to this task; a later create with the key after that makes a new task. */
  keyTtlMs: number;
  runId: string | null;
  phaseId: string | null;
  maxRetries: number;
  budget: Budget | null;
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

/** `task` is set when the task moved pending → running; otherwise `state` says where it is (null: unknown id). */
export type StartResult =
  | { taskId: string; task: TaskRecord }
  | { taskId: string; task: null; state: TaskState | null };

/** How a run ended, written only if the run still holds the lease. */
export interface TaskOutcome {
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

export type RecoverResult = 'recovered' | 'dead' | 'skipped';

export interface TaskFilter {
  ids?: string[];
  states?: TaskState[];
  type?: string;
  runId?: string;
  phaseId?: string;
  /** Only tasks not updated within this many ms, by the backend's clock. */
  idleForMs?: number;
  /** Default 100, at most 1000. Ordered by creation, oldest first. */
  limit?: number;
}

export interface TaskCount {
  phaseId: string | null;
  state: TaskState;
  count: number;
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

/** Task records and their state machine. Every state change is atomic per task. */
export interface TaskStore {
  /**
   * Creates each task unless its idempotency key maps to a task created within the key's TTL;
   * then returns that task's id with `duplicate: true`. Concurrent creates of one key create one task.
   */
  create(tasks: NewTask[], options?: WriteOptions): Promise<CreateResult[]>;
  /** The task, or null when unknown (or purged). */
  get(id: string): Promise<TaskRecord | null>;
  /** Tasks matching every given field, oldest first. */
  list(filter: TaskFilter): Promise<TaskRecord[]>;
  /** Task counts grouped by phase and state. */
  counts(): Promise<TaskCount[]>;
  /** Moves each pending task to running under the given lease (and sets startedAt); others are left as they are. */
  start(claims: StartClaim[]): Promise<StartResult[]>;
  /**
   * Applies each outcome only if the task is running under `leaseId`, clearing the lease.
   * Returns per outcome whether it was applied (false: the lease moved on).
   */
  finish(outcomes: TaskOutcome[]): Promise<boolean[]>;
  /**
   * For each task still running under `leaseId`: back to pending with recoveries + 1 and the lease
   * cleared, or to dead (error code 'POISON_PILL') when recoveries would exceed `maxRecoveries`.
   */
  recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]>;
  /**
   * Unfenced move of each listed task whose state is in `from` to `to` (clearing any lease;
   * `finishedAt` set when `to` is terminal). Returns the ids that moved.
   */
  transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]>;
  /** Adds usage to a task running under `leaseId`; returns the new totals, or null if the lease moved on. */
  recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null>;
  /** Cancels every non-terminal task of the phase (clearing leases); returns their ids. */
  cancelPhase(phaseId: string): Promise<string[]>;
  /** Removes finished tasks per the retention options; returns how many. */
  purge(options: PurgeOptions): Promise<number>;
}
