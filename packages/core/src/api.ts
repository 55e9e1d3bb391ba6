// Public shapes of the facade: what a handler receives and what enqueue takes.
import type { JsonObject, JsonValue } from './json.js';
import type { Logger } from './logger.js';
import type { Budget, TaskRecord, Usage } from './ports/task-store.js';
import type { RetryPolicyOptions } from './retry-policy.js';

export interface Checkpoint<C = JsonValue> {
  token: string;
  data: C;
}

export interface SaveCheckpointOptions {
  /** Write now instead of coalescing within the checkpoint interval. */
  flush?: boolean;
}

/** What a handler receives besides its input. */
export interface TaskContext<C = JsonValue> {
  readonly taskId: string;
  readonly type: string;
  /** Failed runs before this one (0 on the first run). */
  readonly attempt: number;
  /** Times the task was reclaimed after a crash or stall. */
  readonly recoveries: number;
  readonly runId: string | null;
  readonly phaseId: string | null;
  readonly budget: Budget | null;
  /** The last saved checkpoint when resuming, else null. */
  readonly checkpoint: Checkpoint<C> | null;
  /**
   * Saves progress. Coalesced: at most one write per checkpoint interval, newest state wins,
   * flushed on shutdown, on failure and with `{ flush: true }`. Rejects with LeaseLostError
   * when another worker owns the task now.
   */
  saveCheckpoint(token: string, data: C, options?: SaveCheckpointOptions): Promise<void>;
  /** Extends the lease now (heartbeats also run on their own timer). Rejects with LeaseLostError. */
  heartbeat(): Promise<void>;
  /** Adds cost / tokens; rejects with BudgetExceededError once the task's budget is exceeded. */
  reportUsage(usage: Partial<Usage>): Promise<Usage>;
  /**
   * Reports how far the run got: a number from 0 to 1, or a small JSON object (at most 4 KB).
   * Coalesced like checkpoints (the newest value wins, at most one write per second), stored on
   * the task, emitted as `task.progress`. Rejects with LeaseLostError when another worker owns the task.
   */
  reportProgress(progress: number | JsonObject): Promise<void>;
  /** Aborts on cancellation, timeout, lost lease and shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export type TaskHandler<I = JsonValue, O = JsonValue, C = JsonValue> = (input: I, ctx: TaskContext<C>) => Promise<O> | O;

export interface RegisterOptions {
  /** Retry policy for this task type, merged over the baton's. */
  retry?: RetryPolicyOptions;
  /** Version mixed into generated idempotency keys. @default 'v1' */
  version?: string;
  /** The queue tasks of this type go to (unless enqueue says otherwise); this worker serves it. @default 'default' */
  queue?: string;
}

export interface EnqueueOptions {
  /** Your own idempotency key; default sha256(type, canonical input, version). */
  key?: string;
  /** Version for the generated key. @default the registered version, else 'v1' */
  version?: string;
  /** How long the key maps to this task. @default baton's idempotencyKeyTtlMs (24 h); at most 365 days */
  keyTtlMs?: number;
  /** Not runnable before this many ms from now (backend clock). At most 365 days. */
  delayMs?: number;
  /** The queue to wait in. @default the type's registered queue, else 'default' */
  queue?: string;
  /** Higher runs first within the queue; an integer from -10000 to 10000. @default 0 */
  priority?: number;
  /** A tenant, user or API key: the queue's groupConcurrency caps how many of one group run at once. */
  group?: string;
  runId?: string;
  phaseId?: string;
  /** Retries after the first failed run. @default the retry policy's maxRetries */
  maxRetries?: number;
  budget?: Budget;
  /** The application's open transaction, for backends with `transactionalEnqueue`. */
  transaction?: unknown;
}

export interface TaskSpec<I = JsonValue> extends Omit<EnqueueOptions, 'transaction'> {
  type: string;
  input: I;
}

export interface EnqueueResult {
  taskId: string;
  /** True when the key already mapped to a task: nothing new was created. */
  duplicate: boolean;
  key: string;
}

export interface WaitOptions {
  /** Reject with TimeoutError after this long. @default 60_000 */
  timeoutMs?: number;
  /** How often to look at the store for tasks finished by other processes. @default 250 */
  pollMs?: number;
}

export type { TaskRecord };
