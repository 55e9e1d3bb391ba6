// Hooks around enqueue, run and checkpoint, so tracing and metrics packages (`@baton/otel`,
// `@baton/prometheus`) plug in without patching. Every hook is optional and synchronous; a hook
// that throws is logged and ignored, never allowed to fail the work it observes.
import type { TaskRecord, Usage } from './ports/task-store.js';

export interface EnqueueInfo {
  taskId: string;
  type: string;
  queue: string;
}

export interface EnqueueScope {
  /**
   * Propagation fields stored with each task (aligned with the tasks), e.g. a W3C `traceparent`:
   * the run of the task, in any process and after any crash, sees them as `task.traceContext`.
   */
  traceContext?: readonly (Record<string, string> | undefined)[];
  /** The enqueue finished: `error` when it failed, else which tasks were new. */
  end(result: { error?: unknown; created?: readonly boolean[] }): void;
}

export interface RunInfo {
  task: TaskRecord;
  workerId: string;
  /** The checkpoint token the run resumes from, or null on a fresh start. */
  resumedFrom: string | null;
}

/**
 * How a run ended. `usage` is the task's usage totals after the run: `RunInfo.task.usage` plus
 * what the run reported with `ctx.reportUsage` (each report returns the stored total), so what the
 * run spent is the difference, without a read.
 */
export type RunOutcome =
  | { state: 'completed'; usage: Usage }
  | { state: 'failed'; error: unknown; willRetry: boolean; usage: Usage }
  | { state: 'released'; reason: string; usage: Usage }
  /** `reason`: which write found the lease gone (the `task.lease_lost` event's `data.reason`). */
  | { state: 'lease_lost'; reason: string; usage: Usage };

export interface RunScope {
  /** Runs the handler inside the hook's context (e.g. with its span active). */
  wrap?<T>(fn: () => T): T;
  end(outcome: RunOutcome): void;
}

export interface CheckpointInfo {
  task: TaskRecord;
  token: string;
  sizeBytes: number;
}

/** One batched lease extension of a worker's running tasks (one write per heartbeat interval). */
export interface HeartbeatInfo {
  workerId: string;
  taskIds: readonly string[];
}

export interface HeartbeatScope {
  /** The write landed (`lost`: the tasks whose lease had moved on) or failed (`error`). */
  end(result: { error?: unknown; lost?: readonly string[] }): void;
}

export interface Instrumentation {
  enqueue?(tasks: readonly EnqueueInfo[]): EnqueueScope | void;
  run?(info: RunInfo): RunScope | void;
  /** A checkpoint save about to be written; `end` once it landed (or failed). */
  checkpoint?(info: CheckpointInfo): { end(error?: unknown): void } | void;
  /** A heartbeat about to extend the leases of `taskIds`; `end` once it landed (or failed). */
  heartbeat?(info: HeartbeatInfo): HeartbeatScope | void;
}
