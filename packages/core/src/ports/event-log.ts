import type { JsonObject } from '../json.js';
import type { WriteOptions } from './write-options.js';

export type EventType =
  | 'task.enqueued'
  | 'task.started'
  | 'task.resumed'
  | 'task.checkpointed'
  | 'task.progress'
  | 'task.retry_scheduled'
  | 'task.completed'
  | 'task.failed'
  | 'task.dead'
  | 'task.cancelled'
  | 'task.recovered'
  | 'task.released'
  | 'task.lease_lost'
  | 'task.retried'
  | 'task.corrupt'
  | 'record.quarantined'
  | 'timer.fired'
  | 'phase.scheduled'
  | 'phase.timed_out'
  | 'queue.paused'
  | 'queue.resumed'
  | 'queue.configured'
  | 'pool.scaled'
  | 'breaker.opened'
  | 'breaker.half_open'
  | 'breaker.closed'
  | 'worker.started'
  | 'worker.stopped'
  | 'worker.event_loop_blocked';

export const EVENT_TYPES: readonly EventType[] = [
  'task.enqueued',
  'task.started',
  'task.resumed',
  'task.checkpointed',
  'task.progress',
  'task.retry_scheduled',
  'task.completed',
  'task.failed',
  'task.dead',
  'task.cancelled',
  'task.recovered',
  'task.released',
  'task.lease_lost',
  'task.retried',
  'task.corrupt',
  'record.quarantined',
  'timer.fired',
  'phase.scheduled',
  'phase.timed_out',
  'queue.paused',
  'queue.resumed',
  'queue.configured',
  'pool.scaled',
  'breaker.opened',
  'breaker.half_open',
  'breaker.closed',
  'worker.started',
  'worker.stopped',
  'worker.event_loop_blocked',
];

export interface NewEvent {
  /** Unique across processes. */
  id: string;
  type: EventType;
  /** Epoch ms when the event happened (the engine's clock, or the backend's for events a store builds). */
  at: number;
  runId: string | null;
  phaseId: string | null;
  taskId: string | null;
  workerId: string | null;
  data: JsonObject;
}

export interface StoredEvent extends NewEvent {
  /**
   * Position in the log: unique, strictly increasing in append order, and consecutive within one
   * append. Writers may commit out of seq order (seq is taken at insert), so an event can become
   * visible a moment after one with a higher seq: a follower that pages with `after` re-reads a
   * short window behind the newest seq it saw (as `baton tail` does).
   */
  seq: number;
}

/** Already normalised by core: `limit` an integer 0–1000, `type` a non-empty list of known types. */
export interface EventQuery {
  runId?: string;
  phaseId?: string;
  taskId?: string;
  type?: EventType[];
  /** Events with `at` ≥ since. */
  since?: number;
  /** Events with seq > after (paging and tailing). */
  after?: number;
  limit: number;
}

export interface EventPurgeOptions {
  /** Drop events older than this many ms (by `at`)… */
  olderThanMs: number;
  /** …or beyond the newest `keepLatest`. */
  keepLatest: number;
  /** Most events removed by one call. */
  limit: number;
}

/** Append-only audit trail. */
export interface EventLog {
  /** Appends in the given order; events of one call are contiguous and keep their order. */
  append(events: NewEvent[], options?: WriteOptions): Promise<void>;
  /**
   * Matching events in append order. A stored event that cannot be decoded is returned in its
   * place as `record.quarantined` with `data: { kind: 'event', reason, raw }` (raw capped at
   * 4 KB) and whatever of its own columns could be read, so one bad row never hides the rest;
   * filters match its stored columns.
   */
  query(query: EventQuery): Promise<StoredEvent[]>;
  /** Drops events per the options, oldest first; returns how many. */
  purge(options: EventPurgeOptions): Promise<number>;
}
