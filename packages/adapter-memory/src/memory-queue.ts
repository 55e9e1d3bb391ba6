// In-process Queue. Each delivery is in exactly one ordered set: its queue's ready lanes
// (QueueState), the delayed heap (by due time) or the lease heap (by expiry), so claim, ack,
// release, extend and reclaim are O(log n) at most and never scan. Every call runs synchronously between
// awaits, which makes it atomic with respect to every other caller of the backend.
import {
  newId,
  type ClaimOptions,
  type Delivery,
  type LeaseRef,
  type Queue,
  type QueueDepth,
  type QueueInfo,
  type QueueItem,
  type QueueSettings,
  type TimerHandle,
} from '@baton/core/adapter';
import { IndexedHeap } from './indexed-heap.js';
import type { MemoryState } from './memory-state.js';
import { QueueState, readyBefore, type Entry } from './queue-state.js';

export class MemoryQueue implements Queue {
  private readonly entries = new Map<string, Entry>();
  private readonly queueStates = new Map<string, QueueState>();
  private readonly delayed = new IndexedHeap<Entry>((a, b) => a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq));
  private readonly leases = new IndexedHeap<Entry>((a, b) => a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.seq < b.seq));
  /** Waiting claims by the queue names they wait on. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private seq = 0;
  /** Lease ids are this backend's random prefix plus a counter: unique, and far cheaper than a UUID per claim. */
  private readonly leasePrefix = newId();
  private leaseCount = 0;

  constructor(private readonly state: MemoryState) {
    state.trackWork(() => this.entries.size > 0);
    state.onClose(() => {
      for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
    });
  }

  async enqueue(items: QueueItem[]): Promise<void> {
    this.state.assertOpen();
    this.enqueueNow(items);
  }

  /** `enqueue` in one synchronous step (also the second half of the flow's createAndEnqueue). */
  enqueueNow(items: readonly QueueItem[]): void {
    if (items.length > 0) this.state.workAdded();
    const now = this.state.now();
    let touched: QueueState | Set<QueueState> | undefined;
    for (const item of items) {
      if (this.entries.has(item.taskId)) continue;
      const queue = this.queueState(item.queue);
      const entry: Entry = {
        taskId: item.taskId,
        queue,
        group: item.group,
        rank: -item.priority,
        seq: ++this.seq,
        state: 'ready',
        readyAt: now,
        expiresAt: 0,
        leaseId: null,
        lane: null,
        heapIndex: -1,
      };
      this.entries.set(item.taskId, entry);
      this.place(entry, now, item.delayMs);
      // Batches usually fill one queue: remember it without allocating a set.
      if (touched === undefined) touched = queue;
      else if (touched !== queue) (touched instanceof Set ? touched : (touched = new Set([touched]))).add(queue);
    }
    // Delayed deliveries wake waiters too: they may be sleeping until a later due time.
    if (touched instanceof Set) for (const q of touched) this.wake(q.name);
    else if (touched !== undefined) this.wake(touched.name);
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    return this.claimThen(options, (got) => got, []);
  }

  /**
   * Waits as `claim` does and hands what it took to `then` in the same synchronous step, so the
   * flow starts the tasks before anything else can run.
   */
  async claimThen<T>(options: ClaimOptions, then: (got: Delivery[]) => T, none: T): Promise<T> {
    this.state.assertOpen();
    if (options.limit <= 0) return none;
    const deadline = this.state.now() + Math.max(0, options.waitMs);
    for (;;) {
      if (this.state.isClosed) return none;
      const got = this.take(options.queues, options.limit, options.leaseMs);
      if (got.length > 0) return then(got);
      const now = this.state.now();
      if (options.signal?.aborted || now >= deadline) return none;
      await this.wait(options.queues, this.nextChance(options.queues, now, deadline) - now, options.signal);
    }
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    this.state.assertOpen();
    return refs.map((ref) => this.ackOne(ref));
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((ref) => this.releaseOne(ref, ref.delayMs, now));
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((ref) => this.extendOne(ref, leaseMs, now));
  }

  ackOne(ref: LeaseRef): boolean {
    const entry = this.held(ref);
    if (entry === undefined) return false;
    this.drop(entry);
    return true;
  }

  releaseOne(ref: LeaseRef, delayMs: number | undefined, now: number): boolean {
    const entry = this.held(ref);
    if (entry === undefined) return false;
    this.unlease(entry);
    this.place(entry, now, delayMs);
    this.wake(entry.queue.name);
    return true;
  }

  extendOne(ref: LeaseRef, leaseMs: number, now: number): boolean {
    const entry = this.held(ref);
    if (entry === undefined) return false;
    entry.expiresAt = now + leaseMs;
    this.leases.update(entry);
    return true;
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const out: LeaseRef[] = [];
    for (let top = this.leases.peek(); top !== undefined && top.expiresAt <= now && out.length < limit; top = this.leases.peek()) {
      out.push({ taskId: top.taskId, leaseId: top.leaseId! });
      this.unlease(top);
      this.place(top, now, 0);
      this.wake(top.queue.name);
    }
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
    const now = this.state.now();
    this.promote(now);
    const total: QueueDepth = { ready: 0, leased: 0, expired: 0, delayed: 0 };
    for (const q of this.queueStates.values()) {
      total.ready += q.counts.ready;
      total.leased += q.counts.leased;
      total.delayed += q.counts.delayed;
    }
    this.leases.visitWhile((e) => e.expiresAt <= now, () => total.expired++);
    return total;
  }

  async queues(): Promise<QueueInfo[]> {
    this.state.assertOpen();
    const now = this.state.now();
    this.promote(now);
    const expired = new Map<QueueState, number>();
    this.leases.visitWhile(
      (e) => e.expiresAt <= now,
      (e) => expired.set(e.queue, (expired.get(e.queue) ?? 0) + 1),
    );
    const out: QueueInfo[] = [];
    for (const q of this.queueStates.values()) {
      if (q.size === 0 && !q.configured) continue;
      const { ready, leased, delayed } = q.counts;
      out.push({ name: q.name, ...q.copySettings(), depth: { ready, leased, expired: expired.get(q) ?? 0, delayed } });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async configure(queue: string, settings: Partial<QueueSettings>): Promise<QueueSettings> {
    this.state.assertOpen();
    const applied = this.queueState(queue).configure(settings, this.state.now());
    // Resumed, raised or lifted limits may let a waiting claim through.
    this.wake(queue);
    return applied;
  }

  /** Leases up to `limit` of the best deliveries the listed queues may hand out now. */
  private take(names: readonly string[], limit: number, leaseMs: number): Delivery[] {
    const now = this.state.now();
    this.promote(now);
    const queues: QueueState[] = [];
    for (const name of names) {
      const q = this.queueStates.get(name);
      if (q !== undefined) queues.push(q);
    }
    const out: Delivery[] = [];
    while (out.length < limit) {
      let best: Entry | undefined;
      for (const q of queues) {
        const head = q.head(now);
        if (head !== undefined && (best === undefined || readyBefore(head, best))) best = head;
      }
      if (best === undefined) break;
      const q = best.queue;
      q.take(best, now);
      q.counts.ready--;
      q.counts.leased++;
      best.state = 'leased';
      best.leaseId = `${this.leasePrefix}.${(++this.leaseCount).toString(36)}`;
      best.expiresAt = now + leaseMs;
      this.leases.push(best);
      out.push({ taskId: best.taskId, leaseId: best.leaseId });
    }
    return out;
  }

  /** Makes an entry (counted nowhere yet) ready now, or delayed until `delayMs` from now. */
  private place(entry: Entry, now: number, delayMs: number | undefined): void {
    const q = entry.queue;
    if (delayMs !== undefined && delayMs > 0) {
      entry.state = 'delayed';
      entry.readyAt = now + delayMs;
      q.counts.delayed++;
      this.delayed.push(entry);
      return;
    }
    entry.state = 'ready';
    entry.readyAt = now;
    q.counts.ready++;
    q.addReady(entry);
  }

  /** Moves due delayed entries to ready; their readiness is their due time, not when this ran. */
  private promote(now: number): void {
    for (let top = this.delayed.peek(); top !== undefined && top.readyAt <= now; top = this.delayed.peek()) {
      this.delayed.pop();
      const q = top.queue;
      q.counts.delayed--;
      q.counts.ready++;
      top.state = 'ready';
      q.addReady(top);
    }
  }

  /** Ends a lease (ack, release, reclaim, remove): its slot is free again; the entry is counted nowhere. */
  private unlease(entry: Entry): void {
    const q = entry.queue;
    this.leases.remove(entry);
    q.unleased(entry);
    q.counts.leased--;
    entry.leaseId = null;
    if (q.hasSlots) this.wake(q.name);
  }

  private drop(entry: Entry): void {
    const q = entry.queue;
    this.entries.delete(entry.taskId);
    if (entry.state === 'leased') this.unlease(entry);
    else if (entry.state === 'delayed') {
      this.delayed.remove(entry);
      q.counts.delayed--;
    } else {
      q.removeReady(entry);
      q.counts.ready--;
    }
    // A queue without deliveries or settings is forgotten, so ad-hoc queue names cost nothing once drained.
    if (q.size === 0 && !q.configured) this.queueStates.delete(q.name);
  }

  private held(ref: LeaseRef): Entry | undefined {
    const entry = this.entries.get(ref.taskId);
    return entry !== undefined && entry.state === 'leased' && entry.leaseId === ref.leaseId ? entry : undefined;
  }

  private queueState(name: string): QueueState {
    let q = this.queueStates.get(name);
    if (q === undefined) this.queueStates.set(name, (q = new QueueState(name)));
    return q;
  }

  /** When a claim that found nothing could next succeed without being woken: a due delay, a refilled rate bucket, or its deadline. */
  private nextChance(names: readonly string[], now: number, deadline: number): number {
    let at = Math.min(deadline, this.delayed.peek()?.readyAt ?? deadline);
    for (const name of names) {
      const until = this.queueStates.get(name)?.rateLimitedUntil(now) ?? null;
      // At least 1 ms on: a clock with fractions of a ms must not turn this into a busy loop.
      if (until !== null) at = Math.min(at, Math.max(now + 1, until));
    }
    return at;
  }

  private wait(names: readonly string[], ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        for (const name of names) {
          const set = this.waiters.get(name);
          if (set === undefined) continue;
          set.delete(done);
          if (set.size === 0) this.waiters.delete(name);
        }
        this.state.clock.clearTimeout(handle);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const handle: TimerHandle = this.state.clock.setTimeout(done, Math.max(0, ms));
      for (const name of names) {
        let set = this.waiters.get(name);
        if (set === undefined) this.waiters.set(name, (set = new Set()));
        set.add(done);
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wake(name: string): void {
    const set = this.waiters.get(name);
    if (set !== undefined) for (const wake of [...set]) wake();
  }
}
