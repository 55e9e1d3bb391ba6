// In-process EventLog: an array in seq order, so `after` paging is a binary search.
import type { EventQuery, EventLog, NewEvent, StoredEvent } from '@baton/core';
import { cloneJson, type MemoryState } from './memory-state.js';

export class MemoryEventLog implements EventLog {
  private events: StoredEvent[] = [];
  private seq = 0;

  constructor(private readonly state: MemoryState) {}

  async append(events: NewEvent[]): Promise<void> {
    this.state.assertOpen();
    // Stored as handed in (plus seq): core builds a fresh object per event and never touches it
    // again, and query hands out copies, so nobody can mutate the log.
    for (const e of events) this.events.push(Object.assign(e, { seq: ++this.seq }) as StoredEvent);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    this.state.assertOpen();
    const limit = Math.min(Math.max(query.limit ?? 100, 0), 1000);
    const types = query.type === undefined ? null : new Set(Array.isArray(query.type) ? query.type : [query.type]);
    const out: StoredEvent[] = [];
    for (let i = query.after === undefined ? 0 : this.firstAfter(query.after); i < this.events.length && out.length < limit; i++) {
      const e = this.events[i]!;
      if (query.runId !== undefined && e.runId !== query.runId) continue;
      if (query.phaseId !== undefined && e.phaseId !== query.phaseId) continue;
      if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
      if (types !== null && !types.has(e.type)) continue;
      if (query.since !== undefined && e.at < query.since) continue;
      out.push({ ...e, data: cloneJson(e.data) });
    }
    return out;
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    this.state.assertOpen();
    const cutoff = this.state.now() - options.olderThanMs;
    const beyond = this.events.length - Math.max(0, options.keepLatest);
    let dropped = 0;
    const kept: StoredEvent[] = [];
    this.events.forEach((e, i) => {
      if (dropped < options.limit && (i < beyond || e.at < cutoff)) dropped++;
      else kept.push(e);
    });
    this.events = kept;
    return dropped;
  }

  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
