import type { JsonValue } from '../json.js';

export type TimerKind = 'retry' | 'timeout' | 'cleanup' | 'custom';

export interface NewTimer {
  id: string;
  kind: TimerKind;
  /** Due this many ms from now by the backend's clock. */
  delayMs: number;
  /** While a timer with this key is pending, scheduling another with the key returns the pending one. */
  key: string | null;
  taskId: string | null;
  phaseId: string | null;
  /** For custom timers: which handler fires it. */
  name: string | null;
  payload: JsonValue;
}

export interface TimerRecord {
  id: string;
  kind: TimerKind;
  key: string | null;
  taskId: string | null;
  phaseId: string | null;
  name: string | null;
  payload: JsonValue;
  /** Epoch ms, backend clock. */
  dueAt: number;
  createdAt: number;
}

/** Already validated by core; ids and keys de-duplicated. */
export interface TimerFilter {
  ids?: string[];
  keys?: string[];
  taskId?: string;
  phaseId?: string;
}

/**
 * Durable timers. A due timer is handed to one claimer at a time and fires until completed. A
 * stored timer that cannot be decoded is never handed out and never blocks the others: the store
 * removes it from the due set — it no longer counts for `nextDueIn` or `list` — (on backends with
 * `atomicEvents`, appending a `record.quarantined` event with its raw bytes).
 */
export interface TimerStore {
  /** Stores timers (or returns the pending one sharing a key). */
  schedule(timers: NewTimer[]): Promise<TimerRecord[]>;
  /**
   * Claims up to `limit` due timers, earliest first, for `leaseMs`. A claimed timer is not given to
   * another claimer until the claim expires uncompleted (the claimer crashed), then it is due again.
   */
  claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]>;
  /** Marks fired timers done; they never fire again. */
  complete(ids: string[]): Promise<void>;
  /** Removes pending timers matching every given field; returns how many. */
  cancel(filter: TimerFilter): Promise<number>;
  /** Ms from the backend's now until the earliest unclaimed timer is due (0 when overdue), null when none. */
  nextDueIn(): Promise<number | null>;
  /** Pending (not completed) timers matching the filter, earliest due first, at most `limit` (integer 0–1000). */
  list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]>;
}
