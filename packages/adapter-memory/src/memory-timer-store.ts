// In-process TimerStore. A min-heap keyed by when each timer is next claimable (its due-time,
// or the end of its claim) makes claimDue and nextDueIn cheap; a claim that is never completed
// simply becomes claimable again when its lease ends.
import type { NewTimer, TimerFilter, TimerRecord, TimerStore } from '@baton/core/adapter';
import { MinHeap } from './min-heap.js';
import { cloneJson } from './clone-json.js';
import type { MemoryState } from './memory-state.js';

interface Entry {
  record: TimerRecord;
  /** Scheduling order, to break due-time ties. */
  order: number;
  claimedUntil: number | null;
  version: number;
}

export class MemoryTimerStore implements TimerStore {
  private readonly timers = new Map<string, Entry>();
  private readonly keys = new Map<string, string>();
  private readonly heap = new MinHeap<{ entry: Entry; version: number }>();
  private seq = 0;

  constructor(private readonly state: MemoryState) {
    state.trackWork(() => this.timers.size > 0);
  }

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    this.state.assertOpen();
    if (timers.length > 0) this.state.workAdded();
    const now = this.state.now();
    return timers.map((t) => {
      const sameKey = t.key === null ? undefined : this.timers.get(this.keys.get(t.key) ?? '');
      const existing = sameKey ?? this.timers.get(t.id);
      if (existing !== undefined) return copy(existing.record);
      const record: TimerRecord = {
        id: t.id,
        kind: t.kind,
        key: t.key,
        taskId: t.taskId,
        phaseId: t.phaseId,
        name: t.name,
        payload: cloneJson(t.payload),
        dueAt: now + Math.max(0, t.delayMs),
        createdAt: now,
      };
      const entry: Entry = { record, order: ++this.seq, claimedUntil: null, version: 0 };
      this.timers.set(t.id, entry);
      if (t.key !== null) this.keys.set(t.key, t.id);
      this.heap.push({ at: record.dueAt, seq: entry.order, value: { entry, version: 0 } });
      return copy(record);
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const out: TimerRecord[] = [];
    while (out.length < limit) {
      const top = this.peekLive();
      if (top === undefined || top.at > now) break;
      this.heap.pop();
      const entry = top.value.entry;
      entry.claimedUntil = now + leaseMs;
      entry.version++;
      this.heap.push({ at: entry.claimedUntil, seq: ++this.seq, value: { entry, version: entry.version } });
      out.push(copy(entry.record));
    }
    return out;
  }

  async complete(ids: string[]): Promise<void> {
    this.state.assertOpen();
    for (const id of ids) this.drop(id);
  }

  async cancel(filter: TimerFilter): Promise<number> {
    this.state.assertOpen();
    const victims = this.matching(filter);
    for (const e of victims) this.drop(e.record.id);
    return victims.length;
  }

  async nextDueIn(): Promise<number | null> {
    this.state.assertOpen();
    const top = this.peekLive();
    return top === undefined ? null : Math.max(0, top.at - this.state.now());
  }

  async list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    this.state.assertOpen();
    return this.matching(filter)
      .sort((a, b) => a.record.dueAt - b.record.dueAt || a.order - b.order)
      .slice(0, filter.limit)
      .map((e) => copy(e.record));
  }

  private matching(filter: TimerFilter): Entry[] {
    const ids = filter.ids === undefined ? null : new Set(filter.ids);
    const keys = filter.keys === undefined ? null : new Set(filter.keys);
    const out: Entry[] = [];
    for (const e of this.timers.values()) {
      const r = e.record;
      if (ids !== null && !ids.has(r.id)) continue;
      if (keys !== null && (r.key === null || !keys.has(r.key))) continue;
      if (filter.taskId !== undefined && r.taskId !== filter.taskId) continue;
      if (filter.phaseId !== undefined && r.phaseId !== filter.phaseId) continue;
      out.push(e);
    }
    return out;
  }

  private peekLive() {
    for (let top = this.heap.peek(); top !== undefined; top = this.heap.peek()) {
      const { entry, version } = top.value;
      if (entry.version === version && this.timers.get(entry.record.id) === entry) return top;
      this.heap.pop();
    }
    return undefined;
  }

  private drop(id: string): void {
    const e = this.timers.get(id);
    if (e === undefined) return;
    this.timers.delete(id);
    e.version++;
    if (e.record.key !== null && this.keys.get(e.record.key) === id) this.keys.delete(e.record.key);
  }
}

function copy(r: TimerRecord): TimerRecord {
  return { ...r, payload: cloneJson(r.payload) };
}
