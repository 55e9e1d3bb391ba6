// The stored events of one memory backend, in append order. The task and checkpoint stores
// append here in the same synchronous step as the write the events record, so an event exists
// iff its change was applied (`atomicEvents`); the EventLog port reads and purges them.
import type { JsonObject, NewEvent, StoredEvent } from '@baton/core/adapter';
import { cloneJson } from './clone-json.js';

export class EventRecords {
  /** Sorted by seq: `after` paging is a binary search. */
  list: StoredEvent[] = [];
  /** No event in `list` is older than this (a bound, exact after a purge that read the whole list). */
  minAt = Infinity;
  private seq = 0;

  /** Appends copies, contiguous and in order. */
  append(events: readonly NewEvent[]): void {
    for (const e of events) this.push(e, e.runId, e.phaseId);
  }

  /** Appends events handed to a task write: they carry the task's run and phase, whatever they say. */
  appendFor(task: { runId: string | null; phaseId: string | null }, events: readonly NewEvent[] | undefined): void {
    if (events === undefined) return;
    for (const e of events) this.push(e, task.runId, task.phaseId);
  }

  appendOneFor(task: { runId: string | null; phaseId: string | null }, event: NewEvent): void {
    this.push(event, task.runId, task.phaseId);
  }

  /** Index of the first event with seq > `seq`. */
  firstAfter(seq: number): number {
    const list = this.list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private push(e: NewEvent, runId: string | null, phaseId: string | null): void {
    if (e.at < this.minAt) this.minAt = e.at;
    this.list.push({
      id: e.id,
      type: e.type,
      at: e.at,
      runId,
      phaseId,
      taskId: e.taskId,
      workerId: e.workerId,
      data: cloneJson<JsonObject>(e.data),
      seq: ++this.seq,
    });
  }
}

export function copyEvent(e: StoredEvent): StoredEvent {
  return { id: e.id, type: e.type, at: e.at, runId: e.runId, phaseId: e.phaseId, taskId: e.taskId, workerId: e.workerId, data: cloneJson<JsonObject>(e.data), seq: e.seq };
}
