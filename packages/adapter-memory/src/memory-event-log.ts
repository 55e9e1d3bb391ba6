// In-process EventLog over the backend's event records (see event-records.ts). Queries scan in
// seq order from `after` (a binary search) and stop at the limit; purge removes oldest first.
import type { EventLog, EventPurgeOptions, EventQuery, NewEvent, StoredEvent } from '@baton/core/adapter';
import { copyEvent } from './event-records.js';
import type { MemoryState } from './memory-state.js';

export class MemoryEventLog implements EventLog {
  constructor(private readonly state: MemoryState) {}

  async append(events: NewEvent[]): Promise<void> {
    this.state.assertOpen();
    this.state.events.append(events);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    this.state.assertOpen();
    const records = this.state.events;
    const list = records.list;
    const out: StoredEvent[] = [];
    for (let i = query.after === undefined ? 0 : records.firstAfter(query.after); i < list.length && out.length < query.limit; i++) {
      const e = list[i]!;
      if (query.runId !== undefined && e.runId !== query.runId) continue;
      if (query.phaseId !== undefined && e.phaseId !== query.phaseId) continue;
      if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
      if (query.type !== undefined && !query.type.includes(e.type)) continue;
      if (query.since !== undefined && e.at < query.since) continue;
      out.push(copyEvent(e));
    }
    return out;
  }

  async purge(options: EventPurgeOptions): Promise<number> {
    this.state.assertOpen();
    const records = this.state.events;
    const list = records.list;
    const cutoff = this.state.now() - options.olderThanMs;
    // The events past the count cap are the oldest appended: a prefix, dropped in one splice.
    const dropped = Math.min(Math.max(0, list.length - options.keepLatest), options.limit);
    if (dropped > 0) list.splice(0, dropped);
    // A pass runs every few hundred finished tasks: it reads the list only when an event can be
    // older than the cutoff.
    if (dropped === options.limit || cutoff <= records.minAt) return dropped;
    const kept: StoredEvent[] = [];
    let aged = 0;
    let minAt = Infinity;
    let i = 0;
    for (; i < list.length && dropped + aged < options.limit; i++) {
      const e = list[i]!;
      if (e.at < cutoff) aged++;
      else {
        kept.push(e);
        minAt = Math.min(minAt, e.at);
      }
    }
    if (aged > 0) records.list = i === list.length ? kept : kept.concat(list.slice(i));
    if (i === list.length) records.minAt = minAt;
    return dropped + aged;
  }
}
