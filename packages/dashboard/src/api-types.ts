// The JSON the dashboard's HTTP API answers with. Shared by the server (which builds it) and the
// browser UI (which reads it), so a field renamed on one side fails the type check on the other.
import type { Budget, Corruption, JsonValue, QueueDepth, RateLimit, StoredError, StoredEvent, TaskRecord, TaskState, TimerKind, Usage } from '@baton/core';

export type StateCounts = Record<TaskState, number>;

/** Every task state in lifecycle order. The UI's copy of core's TASK_STATES: the browser bundle imports nothing from @baton/core at run time. */
export const STATES = ['pending', 'running', 'scheduled', 'completed', 'dead', 'cancelled'] as const satisfies readonly TaskState[];

export interface SessionInfo {
  /** Whether operator actions are enabled (the `actions` option). */
  actions: boolean;
  /** Sent back as the `x-baton-csrf` header on every action; present only when actions are on. */
  csrfToken: string | null;
  /** The backend's name (`sqlite`, `postgres`, …): no connection details. */
  backend: string;
  /** How often the UI refreshes the page it shows. */
  pollMs: number;
  version: string;
}

export interface Sparkline {
  /** Tasks completed per bucket, oldest first. */
  completed: number[];
  /** Failed runs (and tasks dead without a failed run: poison pills, corrupt records) per bucket. */
  failed: number[];
}

export interface QueueOverview {
  name: string;
  counts: StateCounts;
  /** How long the longest-waiting pending task has waited (ms), null when none waits. */
  oldestWaitingMs: number | null;
  /** Running tasks whose holder stopped heartbeating and that are not reclaimed yet. */
  runningPastLease: number;
  paused: boolean;
  concurrency: number | null;
  rateLimit: RateLimit | null;
  groupConcurrency: number | null;
  depth: QueueDepth | null;
  series: Sparkline;
}

export interface SeriesInfo {
  /** Where the sparklines come from. */
  source: 'event-log';
  bucketMs: number;
  buckets: number;
  /** Epoch ms of the first bucket's start. */
  from: number;
  /** True while the series has not caught up with the log (it reads a bounded number of events per refresh). */
  partial: boolean;
  /** Events whose task is gone (purged) and so has no known queue. */
  unattributed: number;
}

export interface OverviewResponse {
  now: number;
  backend: string;
  queues: QueueOverview[];
  totals: StateCounts;
  series: SeriesInfo;
}

/** A task as the list shows it: no input or result, which can be large. */
export interface TaskSummary {
  id: string;
  type: string;
  queue: string;
  state: TaskState;
  priority: number;
  runId: string | null;
  phaseId: string | null;
  attempt: number;
  maxRetries: number;
  recoveries: number;
  workerId: string | null;
  progress: JsonValue | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface TaskListResponse {
  tasks: TaskSummary[];
  cursor: string | null;
  /** What the search box matched: 'id' when the search found the task by its id. */
  matched: 'id' | null;
}

export interface CountsResponse {
  /** Tasks by state of the queue, type or phase filtered on (from admin.stats), else of all; null when no single grouping answers the filter. */
  counts: StateCounts | null;
}

export interface CheckpointView {
  token: string;
  sizeBytes: number;
  storedBytes: number;
  encoding: 'json' | 'gzip';
  updatedAt: number;
  data: JsonValue | null;
  /** Set when the checkpoint could not be decoded. */
  error: string | null;
}

export interface TaskDetailResponse {
  now: number;
  task: TaskRecord;
  checkpoint: CheckpointView | null;
  events: StoredEvent[];
  /** The task holds at most 1000 events in the response; older ones are cut. */
  eventsTruncated: boolean;
}

export interface PhaseRow {
  phaseId: string;
  counts: StateCounts;
  total: number;
}

export interface PhasesResponse {
  phases: PhaseRow[];
  /** Set when the list came from one run's tasks (the `runId` filter). */
  runId: string | null;
  /** The run's tasks were read up to a cap: the figures cover the first ones only. */
  truncated: boolean;
}

export interface PhaseTask {
  id: string;
  type: string;
  state: TaskState;
  budget: Budget | null;
  usage: Usage;
  progress: JsonValue | null;
}

export interface PhaseDetailResponse {
  phaseId: string;
  runIds: string[];
  counts: StateCounts;
  /** Sum of the tasks' budgets: what the scheduler split across them. */
  budget: { costUsd: number | null; tokens: number | null; timeMs: number | null };
  usage: Usage;
  tasks: PhaseTask[];
  /** More tasks than were read (the figures cover the ones read). */
  truncated: boolean;
}

export interface TimerView {
  id: string;
  kind: TimerKind;
  name: string | null;
  key: string | null;
  taskId: string | null;
  phaseId: string | null;
  dueAt: number;
  createdAt: number;
  payload: JsonValue;
  status: 'overdue' | 'due-soon' | 'pending';
}

export interface TimersResponse {
  now: number;
  timers: TimerView[];
  /** How far ahead a timer counts as due soon. */
  dueSoonMs: number;
  /** The list was cut at its limit. */
  truncated: boolean;
}

export interface ActionResponse {
  ok: true;
  /** How many tasks the action changed (or would, for a dry run). */
  count?: number;
  task?: TaskRecord;
}

export interface ErrorResponse {
  error: string;
  code: string;
}

export type { Corruption, StoredError };
