// Per-queue throughput and failure counts for the last hour, read from the durable event log
// (not sampled): every process's completions count, and a dashboard that restarts sees the same
// hour again. Completion events carry no queue, so each task's queue is looked up once (by id, a
// page of 1000 at a time) and remembered. The log is tailed by `seq`: a refresh reads only what was
// appended since the last one, and at most MAX_PAGES pages, so a busy log never makes the
// overview slow — the series is then marked partial and catches up over the next refreshes.
import type { Baton, EventType, StoredEvent } from '@baton/core';
import type { SeriesInfo, Sparkline } from './api-types.js';

export const BUCKET_MS = 60_000;
export const BUCKETS = 60;
const WINDOW_MS = BUCKET_MS * BUCKETS;
const PAGE = 1_000;
const MAX_PAGES = 20;
/** Remembered task → queue mappings; beyond this the oldest are forgotten (and looked up again if needed). */
const MAX_KNOWN_TASKS = 50_000;
const TYPES: EventType[] = ['task.completed', 'task.failed', 'task.dead'];

interface Counts {
  completed: Map<number, number>;
  failed: Map<number, number>;
}

export class EventSeries {
  private lastSeq = 0;
  private readonly byQueue = new Map<string, Counts>();
  private readonly queueOf = new Map<string, string>();
  private partial = false;
  private unattributed = 0;
  private refreshing: Promise<void> | null = null;
  private refreshedAt = -Infinity;

  constructor(
    private readonly baton: Pick<Baton, 'queryEvents' | 'admin'>,
    /** Refreshes closer together than this reuse the last result (several browser tabs poll at once). */
    private readonly minIntervalMs = 1_000,
  ) {}

  /** Reads what the log gained since the last call (shared by concurrent callers). */
  async refresh(now: number): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (now - this.refreshedAt < this.minIntervalMs) return;
    this.refreshing = this.read(now).finally(() => {
      this.refreshing = null;
      this.refreshedAt = now;
    });
    return this.refreshing;
  }

  info(now: number): SeriesInfo {
    return { source: 'event-log', bucketMs: BUCKET_MS, buckets: BUCKETS, from: this.firstBucket(now) * BUCKET_MS, partial: this.partial, unattributed: this.unattributed };
  }

  /** The queue's counts per minute over the last hour, oldest first (zeros for a queue with none). */
  sparkline(queue: string, now: number): Sparkline {
    const c = this.byQueue.get(queue);
    const first = this.firstBucket(now);
    const completed: number[] = [];
    const failed: number[] = [];
    for (let b = first; b < first + BUCKETS; b++) {
      completed.push(c?.completed.get(b) ?? 0);
      failed.push(c?.failed.get(b) ?? 0);
    }
    return { completed, failed };
  }

  private firstBucket(now: number): number {
    return Math.floor(now / BUCKET_MS) - BUCKETS + 1;
  }

  private async read(now: number): Promise<void> {
    const since = now - WINDOW_MS;
    let pages = 0;
    for (; pages < MAX_PAGES; pages++) {
      // The first read finds the hour's start by time; later ones only follow `seq`, which every store indexes.
      const events = await this.baton.queryEvents(this.lastSeq > 0 ? { type: TYPES, after: this.lastSeq, limit: PAGE } : { type: TYPES, since, limit: PAGE });
      if (events.length === 0) break;
      await this.learnQueues(events);
      for (const e of events) this.count(e);
      this.lastSeq = events[events.length - 1]!.seq;
      if (events.length < PAGE) break;
    }
    this.partial = pages === MAX_PAGES;
    this.prune(now);
  }

  private count(e: StoredEvent): void {
    if (e.taskId === null) return;
    const queue = this.queueOf.get(e.taskId);
    if (queue === undefined) {
      this.unattributed++;
      return;
    }
    let c = this.byQueue.get(queue);
    if (!c) this.byQueue.set(queue, (c = { completed: new Map(), failed: new Map() }));
    const bucket = Math.floor(e.at / BUCKET_MS);
    if (e.type === 'task.completed') c.completed.set(bucket, (c.completed.get(bucket) ?? 0) + 1);
    else if (e.type === 'task.failed' || deadWithoutFailedRun(e)) c.failed.set(bucket, (c.failed.get(bucket) ?? 0) + 1);
  }

  private async learnQueues(events: StoredEvent[]): Promise<void> {
    const unknown = [...new Set(events.map((e) => e.taskId).filter((id): id is string => id !== null && !this.queueOf.has(id)))];
    for (let i = 0; i < unknown.length; i += PAGE) {
      const ids = unknown.slice(i, i + PAGE);
      const { tasks } = await this.baton.admin.listTasks({ ids }, { limit: ids.length });
      for (const t of tasks) this.queueOf.set(t.id, t.queue);
    }
    // A Map iterates in insertion order: dropping from the front forgets the oldest tasks.
    for (const id of this.queueOf.keys()) {
      if (this.queueOf.size <= MAX_KNOWN_TASKS) break;
      this.queueOf.delete(id);
    }
  }

  private prune(now: number): void {
    const first = this.firstBucket(now);
    for (const c of this.byQueue.values()) {
      for (const m of [c.completed, c.failed]) for (const b of m.keys()) if (b < first) m.delete(b);
    }
  }
}

/**
 * A failing run appends `task.failed` and then `task.dead` when no retry is left: that death is
 * already counted. A task dead without a failed run (a poison pill after too many recoveries, a
 * corrupt record) carries `reason` or the CORRUPT_RECORD code instead, and counts on its own.
 */
function deadWithoutFailedRun(e: StoredEvent): boolean {
  return e.type === 'task.dead' && (typeof e.data.reason === 'string' || e.data.code === 'CORRUPT_RECORD');
}
