// In-process helpers for stores that filter and select records in their own code (memory, NATS,
// Redis' TypeScript side): one definition of what a TaskFilter matches and which finished tasks
// retention removes, so the stores cannot drift apart.
import type { PurgeOptions, TaskFilter, TaskRecord } from './ports/task-store.js';

/** Whether `task` matches every given field of `filter` (`now`: the backend's clock, for idleForMs). */
export function matchesTaskFilter(task: TaskRecord, filter: TaskFilter, now: number): boolean {
  return (
    (filter.ids === undefined || filter.ids.includes(task.id)) &&
    (filter.states === undefined || filter.states.includes(task.state)) &&
    (filter.type === undefined || task.type === filter.type) &&
    (filter.queue === undefined || task.queue === filter.queue) &&
    (filter.runId === undefined || task.runId === filter.runId) &&
    (filter.phaseId === undefined || task.phaseId === filter.phaseId) &&
    (filter.since === undefined || task.createdAt >= filter.since) &&
    (filter.until === undefined || task.createdAt < filter.until) &&
    (filter.idleForMs === undefined || task.updatedAt <= now - filter.idleForMs)
  );
}

export interface RetentionEntry {
  /** When the task finished (its updatedAt when finishedAt is unknown). */
  finishedAt: number;
  /** Creation order, to break ties. */
  order: number;
}

/**
 * The finished tasks (all in `options.state`) that retention removes: everything beyond the
 * newest `keepLatest`, or finished before `now - olderThanMs`; oldest first, at most `limit`.
 */
export function retentionVictims<E extends RetentionEntry>(entries: readonly E[], options: Pick<PurgeOptions, 'olderThanMs' | 'keepLatest' | 'limit'>, now: number): E[] {
  const cutoff = now - options.olderThanMs;
  const newestFirst = [...entries].sort((a, b) => b.finishedAt - a.finishedAt || b.order - a.order);
  const victims: E[] = [];
  for (let i = newestFirst.length - 1; i >= 0 && victims.length < options.limit; i--) {
    const e = newestFirst[i]!;
    if (i >= options.keepLatest || e.finishedAt < cutoff) victims.push(e);
  }
  return victims;
}

/** A page cursor over a numeric creation order (memory, NATS, Redis): opaque to callers. */
export const orderCursor = {
  encode(order: number): string {
    return `o${order.toString(36)}`;
  },
  /** The order to resume after, or null when the cursor was not made by `encode`. */
  decode(cursor: string): number | null {
    if (!/^o[0-9a-z]{1,12}$/.test(cursor)) return null;
    const n = parseInt(cursor.slice(1), 36);
    return Number.isSafeInteger(n) ? n : null;
  },
};
