// In-process Queue: a FIFO ready list, a min-heap of delayed deliveries, and one FIFO of lease
// expiries per lease length (expiries within one length arrive in time order), so claim, ack and
// reclaim never scan. Stale list and heap entries are skipped by version instead of being
// searched for and removed.
import {
  newId,
  type ClaimOptions,
  type Delivery,
  type LeaseRef,
  type Queue,
  type QueueDepth,
  type QueueItem,
  type TimerHandle,
} from '@baton/core';
import { Fifo } from './fifo.js';
import { MinHeap } from './min-heap.js';
import type { MemoryState } from './memory-state.js';

type EntryState = 'ready' | 'delayed' | 'leased';

interface Entry {
  taskId: string;
  state: EntryState;
  /** Bumped on every change; list and heap items carrying an older version are stale. */
  version: number;
  leaseId: string | null;
}

interface Ref {
  entry: Entry;
  version: number;
}

interface LeaseRefAt extends Ref {
  expiresAt: number;
}

export class MemoryQueue implements Queue {
  private readonly entries = new Map<string, Entry>();
  private readonly ready = new Fifo<Ref>();
  private readonly delayed = new MinHeap<Ref>();
  /** Keyed by lease length; a FIFO per length is ordered by expiry because the clock only moves forward. */
  private readonly leases = new Map<number, Fifo<LeaseRefAt>>();
  private seq = 0;
  /** `unleased` counts ready and delayed entries together; `delayed` is the delayed share of it. */
  private readonly counts = { unleased: 0, delayed: 0, leased: 0 };
  private readonly waiters = new Set<() => void>();

  constructor(private readonly state: MemoryState) {
    state.onClose(() => this.wakeAll());
  }

  async enqueue(items: QueueItem[]): Promise<void> {
    this.state.assertOpen();
    const now = this.state.now();
    let placed = false;
    for (const item of items) {
      if (this.entries.has(item.taskId)) continue;
      const entry: Entry = { taskId: item.taskId, state: 'ready', version: 0, leaseId: null };
      this.entries.set(item.taskId, entry);
      this.counts.unleased++;
      this.place(entry, now, item.delayMs);
      placed = true;
    }
    // Delayed items wake waiters too: their timeout may have been set for a later due-time.
    if (placed) this.wakeAll();
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    this.state.assertOpen();
    const deadline = this.state.now() + Math.max(0, options.waitMs);
    for (;;) {
      if (this.state.isClosed) return [];
      const got = this.take(options.limit, options.leaseMs);
      if (got.length > 0 || options.signal?.aborted) return got;
      const now = this.state.now();
      if (now >= deadline) return got;
      const nextDelayed = this.nextDelayedAt();
      await this.wait(Math.min(deadline, nextDelayed ?? deadline) - now, options.signal);
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    this.state.assertOpen();
    const out = refs.map((ref) => {
      const entry = this.held(ref);
      if (entry === undefined) return false;
      this.drop(entry);
      return true;
    });
    this.trimLeases();
    return out;
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    let placed = false;
    const out = refs.map((ref) => {
      const entry = this.held(ref);
      if (entry === undefined) return false;
      this.counts.leased--;
      this.counts.unleased++;
      entry.leaseId = null;
      this.place(entry, now, ref.delayMs);
      placed = true;
      return true;
    });
    if (placed) this.wakeAll();
    return out;
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((ref) => {
      const entry = this.held(ref);
      if (entry === undefined) return false;
      this.lease(entry, now, leaseMs);
      return true;
    });
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const out: LeaseRef[] = [];
    for (const [leaseMs, fifo] of this.leases) {
      for (let top = fifo.peek(); top !== undefined && out.length < limit; top = fifo.peek()) {
        const { entry, version } = top;
        if (this.isCurrent(entry, version) && entry.state === 'leased') {
          if (top.expiresAt > now) break;
          out.push(this.expire(entry, now));
        }
        fifo.shift();
      }
      if (fifo.size === 0) this.leases.delete(leaseMs);
    }
    if (out.length > 0) this.wakeAll();
    return out;
  }


  async remove(taskIds: string[]): Promise<number> {
    this.state.assertOpen();
    let n = 0;
    for (const id of taskIds) {
      const entry = this.entries.get(id);
      if (entry === undefined) continue;
      this.drop(entry);
      n++;
    }
    return n;
  }

  async depth(): Promise<QueueDepth> {
    this.state.assertOpen();
    this.promoteDue(this.state.now());
    return { ready: this.counts.unleased - this.counts.delayed, leased: this.counts.leased, delayed: this.counts.delayed };
  }

  /** Puts an entry counted as unleased on the ready list or, with a delay, on the delayed heap. */
  private place(entry: Entry, now: number, delayMs: number | undefined): void {
    entry.version++;
    if (delayMs !== undefined && delayMs > 0) {
      entry.state = 'delayed';
      this.counts.delayed++;
      this.delayed.push({ at: now + delayMs, seq: ++this.seq, value: { entry, version: entry.version } });
      return;
    }
    entry.state = 'ready';
    this.ready.push({ entry, version: entry.version });
  }

  private take(limit: number, leaseMs: number): Delivery[] {
    const now = this.state.now();
    this.promoteDue(now);
    const out: Delivery[] = [];
    while (out.length < limit) {
      const ref = this.ready.shift();
      if (ref === undefined) break;
      const { entry, version } = ref;
      if (!this.isCurrent(entry, version) || entry.state !== 'ready') continue;
      entry.state = 'leased';
      entry.leaseId = newId();
      this.counts.unleased--;
      this.counts.leased++;
      this.lease(entry, now, leaseMs);
      out.push({ taskId: entry.taskId, leaseId: entry.leaseId });
    }
    return out;
  }

  private expire(entry: Entry, now: number): LeaseRef {
    const ref = { taskId: entry.taskId, leaseId: entry.leaseId ?? '' };
    this.counts.leased--;
    this.counts.unleased++;
    entry.leaseId = null;
    this.place(entry, now, 0);
    return ref;
  }

  /** Drops acked or extended leases from the front of each expiry list, so they do not pile up between reclaims. */
  private trimLeases(): void {
    for (const [leaseMs, fifo] of this.leases) {
      for (let top = fifo.peek(); top !== undefined && !this.isCurrent(top.entry, top.version); top = fifo.peek()) fifo.shift();
      if (fifo.size === 0) this.leases.delete(leaseMs);
    }
  }

  private lease(entry: Entry, now: number, leaseMs: number): void {
    entry.version++;
    let fifo = this.leases.get(leaseMs);
    if (fifo === undefined) this.leases.set(leaseMs, (fifo = new Fifo()));
    fifo.push({ entry, version: entry.version, expiresAt: now + leaseMs });
  }

  private promoteDue(now: number): void {
    for (let top = this.delayed.peek(); top !== undefined && top.at <= now; top = this.delayed.peek()) {
      this.delayed.pop();
      const { entry, version } = top.value;
      if (!this.isCurrent(entry, version) || entry.state !== 'delayed') continue;
      this.counts.delayed--;
      this.place(entry, now, 0);
    }
  }

  private nextDelayedAt(): number | null {
    for (let top = this.delayed.peek(); top !== undefined; top = this.delayed.peek()) {
      const { entry, version } = top.value;
      if (this.isCurrent(entry, version) && entry.state === 'delayed') return top.at;
      this.delayed.pop();
    }
    return null;
  }

  private held(ref: LeaseRef): Entry | undefined {
    const entry = this.entries.get(ref.taskId);
    return entry !== undefined && entry.state === 'leased' && entry.leaseId === ref.leaseId ? entry : undefined;
  }

  private drop(entry: Entry): void {
    this.entries.delete(entry.taskId);
    if (entry.state === 'leased') this.counts.leased--;
    else {
      this.counts.unleased--;
      if (entry.state === 'delayed') this.counts.delayed--;
    }
    entry.version++;
  }

  /** drop() bumps the version too, so a matching version also means the entry is still queued. */
  private isCurrent(entry: Entry, version: number): boolean {
    return entry.version === version;
  }

  private wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        this.state.clock.clearTimeout(handle);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const handle: TimerHandle = this.state.clock.setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
