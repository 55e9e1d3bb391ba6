import type { JsonObject } from '../json.js';
import type { WriteOptions } from './backend.js';

export type EventType =
  | 'task.enqueued'
  | 'task.started'
  | 'task.checkpointed'
  | 'task.retry_scheduled'
  | 'task.completed'
  | 'task.failed'
  | 'task.dead'
  | 'task.cancelled'
  | 'task.recovered'
  | 'task.released'
  | 'task.lease_lost'
  | 'timer.fired'
  | 'phase.scheduled'
  | 'phase.timed_out'
  | 'pool.scaled'
  | 'breaker.opened'
  | 'breaker.half_open'
  | 'breaker.closed'
  | 'worker.started'
  | 'worker.stopped'
  | 'worker.event_loop_blocked';

export interface NewEvent {
  id: string;
  type: EventType;
  /** Epoch ms by the engine's clock when the event happened. */
  at: number;
  runId: string | null;
  phaseId: string | null;
  taskId: string | null;
  workerId: string | null;
  data: JsonObject;
}

export interface StoredEvent extends NewEvent {
  /** Position in the log: strictly increasing in append order. */
  seq: number;
}

export interface EventQuery {
  runId?: string;
  phaseId?: string;
  taskId?: string;
  type?: EventType | EventType[];
  /** Events with `at` ≥ since. */
  since?: number;
  /** Events with seq > after (paging). */
  after?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Append-only audit trail. */
export interface EventLog {
  /** Appends in the given order; events of one call are contiguous and keep their order. */
  append(events: NewEvent[], options?: WriteOptions): Promise<void>;
  /** Matching events in append order. */
  query(query: EventQuery): Promise<StoredEvent[]>;
  /** Drops events that are older than `olderThanMs` or beyond the newest `keepLatest` (at most `limit`); returns how many. */
  purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number>;
}
