// One named queue of the memory backend: its settings, counts, rate bucket and ready deliveries.
// Ready deliveries sit in one lane per group, each a ReadyList in (−priority, readiness, enqueue
// order); a heap of lanes keyed by their best delivery holds only the lanes that may hand one
// out now. A group at its cap leaves that heap until a slot frees, so a claim never steps over
// capped deliveries: taking the next delivery is O(1 + log groups) whatever the caps.
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings } from '@baton/core/adapter';
import { IndexedHeap, type HeapNode } from './indexed-heap.js';
import { RateBucket } from './rate-bucket.js';
import { ReadyList } from './ready-list.js';

export type EntryState = 'ready' | 'delayed' | 'leased';

/** One delivery. It is in exactly one place at a time: its lane's ready list, the delayed heap or the lease heap. */
export interface Entry extends HeapNode {
  readonly taskId: string;
  readonly queue: QueueState;
  readonly group: string | null;
  /** −priority, so the lowest rank (highest priority) goes first. */
  readonly rank: number;
  /** Enqueue order, the last tie-breaker. */
  readonly seq: number;
  state: EntryState;
  /** When the delivery became (or, while delayed, becomes) deliverable. */
  readyAt: number;
  /** While leased: when the lease ends. */
  expiresAt: number;
  leaseId: string | null;
  /** The lane it is ready in or leased from; null while delayed. */
  lane: Lane | null;
}

/** The deliveries of one group (or of no group) within a queue. */
export interface Lane extends HeapNode {
  readonly group: string | null;
  readonly ready: ReadyList<Entry>;
  /** Leased deliveries of the group, counted against `groupConcurrency`. */
  leased: number;
}

export function readyBefore(a: Entry, b: Entry): boolean {
  return a.rank < b.rank || (a.rank === b.rank && (a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq)));
}

const laneBefore = (a: Lane, b: Lane): boolean => readyBefore(a.ready.peek()!, b.ready.peek()!);

export class QueueState {
  settings: QueueSettings = { ...DEFAULT_QUEUE_SETTINGS };
  /** Set once `configure` was called: the queue is listed (and kept) even when empty. */
  configured = false;
  readonly counts = { ready: 0, delayed: 0, leased: 0 };
  /** Lanes that have a ready delivery and may hand it out (group under its cap). */
  private readonly open = new IndexedHeap<Lane>(laneBefore);
  private readonly ungrouped: Lane = newLane(null);
  private readonly groups = new Map<string, Lane>();
  /** Present exactly while `settings.rateLimit` is set. */
  private bucket: RateBucket | null = null;

  constructor(readonly name: string) {}

  get size(): number {
    return this.counts.ready + this.counts.delayed + this.counts.leased;
  }

  /** The best delivery this queue may hand out at `now`, or undefined (paused, capped, rate limited, empty). */
  head(now: number): Entry | undefined {
    const s = this.settings;
    if (s.paused || (s.concurrency !== null && this.counts.leased >= s.concurrency)) return undefined;
    if (this.bucket !== null && !this.bucket.fits(now)) return undefined;
    return this.open.peek()?.ready.peek();
  }

  /** When the rate limit next lets a claim through, if it is what holds ready deliveries back (else null). */
  rateLimitedUntil(now: number): number | null {
    if (this.bucket === null || this.settings.paused || this.open.size === 0 || this.bucket.fits(now)) return null;
    return this.bucket.allowedAt();
  }

  /** Adds a delivery to the ready set (its state, readyAt and counts already set by the caller). */
  addReady(entry: Entry): void {
    const lane = this.lane(entry.group);
    entry.lane = lane;
    lane.ready.push(entry);
    this.refresh(lane);
  }

  /** Removes a ready delivery from its lane (claimed or dropped). */
  removeReady(entry: Entry): void {
    const lane = entry.lane!;
    lane.ready.remove(entry);
    this.refresh(lane);
  }

  /** Takes the delivery `head` returned out of the ready set and counts it against the queue's limits. */
  take(entry: Entry, now: number): void {
    const lane = entry.lane!;
    lane.ready.remove(entry);
    lane.leased++;
    this.refresh(lane);
    this.bucket?.take(now);
  }

  /** Gives back the slot of a delivery that stops being leased. */
  unleased(entry: Entry): void {
    const lane = entry.lane!;
    entry.lane = null;
    lane.leased--;
    this.refresh(lane);
  }

  /** Whether freeing a slot may let a waiting claim through. */
  get hasSlots(): boolean {
    return this.settings.concurrency !== null || this.settings.groupConcurrency !== null;
  }

  /** Merges a (core-validated) patch into the settings and applies it to the lanes and the bucket. */
  configure(patch: Partial<QueueSettings>, now: number): QueueSettings {
    const before = this.settings;
    const next: QueueSettings = { ...before };
    if (patch.paused !== undefined) next.paused = patch.paused;
    if (patch.concurrency !== undefined) next.concurrency = patch.concurrency;
    if (patch.groupConcurrency !== undefined) next.groupConcurrency = patch.groupConcurrency;
    if (patch.rateLimit !== undefined) {
      const limit = patch.rateLimit === null ? null : { max: patch.rateLimit.max, perMs: patch.rateLimit.perMs };
      next.rateLimit = limit;
      // A limit set anew starts with a full bucket; a changed one keeps what was already used.
      if (limit === null) this.bucket = null;
      else if (this.bucket === null) this.bucket = new RateBucket(limit);
      else this.bucket.setLimit(limit, now);
    }
    this.settings = next;
    this.configured = true;
    if (next.groupConcurrency !== before.groupConcurrency) for (const lane of this.groups.values()) this.refresh(lane);
    return this.copySettings();
  }

  copySettings(): QueueSettings {
    const s = this.settings;
    return { paused: s.paused, concurrency: s.concurrency, rateLimit: s.rateLimit === null ? null : { ...s.rateLimit }, groupConcurrency: s.groupConcurrency };
  }

  private lane(group: string | null): Lane {
    if (group === null) return this.ungrouped;
    let lane = this.groups.get(group);
    if (lane === undefined) this.groups.set(group, (lane = newLane(group)));
    return lane;
  }

  /** Puts the lane in, moves it within, or takes it out of the open heap after its head or count changed. */
  private refresh(lane: Lane): void {
    const cap = this.settings.groupConcurrency;
    const open = lane.ready.size > 0 && (lane.group === null || cap === null || lane.leased < cap);
    if (open) {
      if (lane.heapIndex < 0) this.open.push(lane);
      else this.open.update(lane);
    } else {
      if (lane.heapIndex >= 0) this.open.remove(lane);
      // An idle group costs nothing: its lane is made again on its next delivery.
      if (lane.group !== null && lane.ready.size === 0 && lane.leased === 0) this.groups.delete(lane.group);
    }
  }
}

function newLane(group: string | null): Lane {
  return { group, ready: new ReadyList<Entry>(readyBefore), leased: 0, heapIndex: -1 };
}
