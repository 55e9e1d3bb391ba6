// Plumbing for the queue suites: queue items without task records (the Queue port needs none),
// bounded drains that tolerate backends handing out fewer than `limit` per call, and a
// client-side lease count that can only under-count what the backend holds.
import { expect } from 'vitest';
import { newId, type Backend, type Delivery, type QueueInfo, type QueueItem } from '@baton/core/adapter';
import { sleep } from './harness.js';

/** Long enough never to expire within a test. */
export const LEASE = 60_000;
/** A lease meant to expire within the test… */
export const SHORT_LEASE = 200;
/**
 * …which it has once this much real time passed after its claim returned: the backend clock runs
 * on the same machine, so no poll is needed and the wait does not depend on load.
 */
export const EXPIRE_WAIT = 700;

/** A queue item of a bare task id: queue 'default', priority 0, no group unless `over` says so. */
export function item(taskId: string, over: Partial<Omit<QueueItem, 'taskId'>> = {}): QueueItem {
  return { taskId, queue: 'default', priority: 0, group: null, ...over };
}

export function freshIds(n: number): string[] {
  return Array.from({ length: n }, () => newId());
}

/**
 * Enqueues each item in its own call, a few ms apart, so readiness order is unambiguous even on
 * backends whose clock has millisecond resolution.
 */
export async function enqueueSpaced(b: Backend, items: QueueItem[]): Promise<void> {
  for (const it of items) {
    await b.queue.enqueue([it]);
    await sleep(3);
  }
}

export interface DrainOptions {
  /** Stop once this many deliveries were taken. */
  want: number;
  /** Per-call limit. */
  limit?: number;
  leaseMs?: number;
  /** Most claim calls before giving up (each waits up to `waitMs`). */
  maxCalls?: number;
  waitMs?: number;
}

/**
 * Claims from `queues` until `want` deliveries were taken or `maxCalls` calls were made, and
 * returns them in the order handed out. A backend may hand out fewer than `limit` per call; the
 * order across calls is what counts. Every call must stay within its limit.
 */
export async function drain(b: Backend, queues: readonly string[], o: DrainOptions): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const limit = o.limit ?? o.want;
  const maxCalls = o.maxCalls ?? 40;
  for (let i = 0; i < maxCalls && out.length < o.want; i++) {
    const n = Math.min(limit, o.want - out.length);
    const got = await b.queue.claim({ queues, limit: n, leaseMs: o.leaseMs ?? LEASE, waitMs: o.waitMs ?? 250 });
    expect(got.length).toBeLessThanOrEqual(n);
    out.push(...got);
  }
  return out;
}

/**
 * Claims from `queues` until a claim waiting `waitMs` comes back empty `emptyRounds` times in a
 * row: everything claimable right now. Bounded by `maxCalls`.
 */
export async function drainAll(b: Backend, queues: readonly string[], o: { limit?: number; leaseMs?: number; waitMs?: number; emptyRounds?: number; maxCalls?: number } = {}): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let empty = 0;
  const maxCalls = o.maxCalls ?? 200;
  for (let i = 0; i < maxCalls && empty < (o.emptyRounds ?? 2); i++) {
    const got = await b.queue.claim({ queues, limit: o.limit ?? 50, leaseMs: o.leaseMs ?? LEASE, waitMs: o.waitMs ?? 150 });
    empty = got.length === 0 ? empty + 1 : 0;
    out.push(...got);
  }
  return out;
}

/** The task ids of deliveries, in order. */
export const taskIds = (ds: readonly Delivery[]): string[] => ds.map((d) => d.taskId);

/** queues() sorted by name, so assertions do not depend on the backend's listing order. */
export async function queuesByName(b: Backend): Promise<QueueInfo[]> {
  return [...(await b.queue.queues())].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

export async function queueInfo(b: Backend, name: string): Promise<QueueInfo | undefined> {
  return (await b.queue.queues()).find((q) => q.name === name);
}

/**
 * Leases held per key (a queue, a group), counted client-side: a lease is added after its claim
 * returned and dropped before its ack is sent. The backend holds each lease at least over that
 * span, so the count here never exceeds what the backend holds: a maximum above the cap is a
 * real breach of the cap, never a measuring artefact.
 */
export class LeaseCounter {
  private readonly held = new Map<string, number>();
  private readonly peaks = new Map<string, number>();

  add(key: string): void {
    const n = (this.held.get(key) ?? 0) + 1;
    this.held.set(key, n);
    if (n > (this.peaks.get(key) ?? 0)) this.peaks.set(key, n);
  }

  drop(key: string): void {
    this.held.set(key, (this.held.get(key) ?? 0) - 1);
  }

  peak(key: string): number {
    return this.peaks.get(key) ?? 0;
  }

  /** Every key's peak, for a failure message that shows which key broke its cap. */
  allPeaks(): Record<string, number> {
    return Object.fromEntries(this.peaks);
  }
}

/** A small random pause, so concurrent claimers interleave differently on each run. */
export const jitter = (maxMs: number): Promise<void> => sleep(Math.floor(Math.random() * maxMs));
