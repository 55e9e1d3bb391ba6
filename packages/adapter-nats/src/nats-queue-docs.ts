// One document per named queue in the queues bucket (`<queue>`), read by every claim and changed
// with compare-and-set: the settings (pause, concurrency, rate limit, group cap), the priority
// levels that have a consumer, and — only while the queue has a cap or a rate limit — the slot
// holders and the token bucket. A claim of a capped queue adds its leases to the holders in the
// same compare-and-set that checks the cap, so the cap holds across every worker; ack, release,
// reclaim and remove take them out again. A holder whose lease never got written (the claimer
// died in between) is swept once its expiry passed, so a crash cannot leak a slot.
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings, type RateLimit } from '@baton/core/adapter';
import { decodeJson, encodeJson, isObject, type Decoded } from './nats-codec.js';
import { QueueSubjects } from './nats-names.js';
import type { NatsContext } from './nats-runtime.js';

/** A slot held by one lease: [task token, group, lease expiry when claimed (backend ms)]. */
export type Holder = [string, string | null, number];

export interface QueueDoc {
  name: string;
  s: QueueSettings;
  /** Set once configure() was called: the queue is listed even when empty. */
  cf: boolean;
  /** Priority levels that have a consumer. */
  lv: number[];
  /** Whether the queue's delayed-delivery consumer exists. */
  dl: boolean;
  /** Slot holders by leaseId, kept while the queue has a concurrency or group cap. */
  h: Record<string, Holder>;
  /** Token bucket (GCRA, in units of 1/max ms from origin `o`; `t` the next claim's theoretical time), while rate limited. */
  rb: { o: number; t: number } | null;
}

export interface Versioned<T> {
  value: T;
  /** null: the document does not exist yet. */
  revision: number | null;
}

const isDoc = (v: unknown): v is QueueDoc =>
  isObject(v) && typeof v['name'] === 'string' && isObject(v['s']) && Array.isArray(v['lv']) && isObject(v['h']) && typeof v['cf'] === 'boolean' && typeof v['dl'] === 'boolean';

export function emptyDoc(name: string): QueueDoc {
  return { name, s: { ...DEFAULT_QUEUE_SETTINGS }, cf: false, lv: [], dl: false, h: {}, rb: null };
}

export function isCapped(s: QueueSettings): boolean {
  return s.concurrency !== null || s.groupConcurrency !== null;
}

/** The settings as the port returns them (a copy). */
export function settingsOf(doc: QueueDoc): QueueSettings {
  const s = doc.s;
  return { paused: s.paused, concurrency: s.concurrency, rateLimit: s.rateLimit === null ? null : { ...s.rateLimit }, groupConcurrency: s.groupConcurrency };
}

export class QueueDocs {
  private readonly subjects = new Map<string, QueueSubjects>();
  /** Levels (and delay consumers) this process knows exist: `<queue>\0<priority>` or `<queue>\0d`. */
  private readonly known = new Set<string>();

  subjectsOf(c: NatsContext, queue: string): QueueSubjects {
    let s = this.subjects.get(queue);
    if (s === undefined) this.subjects.set(queue, (s = new QueueSubjects(c.names, queue)));
    return s;
  }

  async read(c: NatsContext, queue: string): Promise<Versioned<QueueDoc>> {
    const entry = await c.buckets.queues.get(this.subjectsOf(c, queue).token);
    if (!entry) return { value: emptyDoc(queue), revision: null };
    const d: Decoded<QueueDoc> = decodeJson(entry.data, isDoc);
    if (d.ok) return { value: d.value, revision: entry.revision };
    // Written behind the store's back: the queue runs on defaults until configure() rewrites it.
    c.logger.error({ queue, reason: d.reason }, 'NATS: a queue document cannot be decoded; using the default settings until configure() rewrites it');
    return { value: emptyDoc(queue), revision: entry.revision };
  }

  /** Every queue document (for queues() and the holder sweep). */
  async all(c: NatsContext): Promise<Versioned<QueueDoc>[]> {
    const out: Versioned<QueueDoc>[] = [];
    await c.buckets.queues.scan('>', (e) => {
      const d = decodeJson(e.data, isDoc);
      if (d.ok) out.push({ value: d.value, revision: e.revision });
    });
    return out;
  }

  /**
   * Changes a queue's document with compare-and-set, re-reading on conflict. `change` returns the
   * next document (or null to leave it); the written one is returned.
   */
  async update(c: NatsContext, queue: string, change: (doc: QueueDoc) => QueueDoc | null, start?: Versioned<QueueDoc>): Promise<QueueDoc> {
    const key = this.subjectsOf(c, queue).token;
    let cur = start ?? (await this.read(c, queue));
    for (let i = 0; i < 50; i++) {
      const next = change(structuredClone(cur.value));
      if (next === null) return cur.value;
      const data = encodeJson(next);
      const rev = cur.revision === null ? await c.buckets.queues.create(key, data) : await c.buckets.queues.update(key, data, cur.revision);
      if (rev !== null) return next;
      cur = await this.read(c, queue);
    }
    throw new Error(`queue ${queue}: 50 concurrent changes of its document in a row; retry`);
  }

  /** Makes sure the consumer of a priority level exists and is listed, so claimers pull from it. */
  async ensureLevel(c: NatsContext, queue: string, priority: number): Promise<void> {
    const mark = `${queue}\u0000${priority}`;
    if (this.known.has(mark)) return;
    const q = this.subjectsOf(c, queue);
    // The consumer first, then the listing: a claimer never pulls from a level that has no consumer.
    await c.consumers.ensure(q.levelConsumer(priority), q.levelFilter(priority));
    await this.update(c, queue, (doc) => (doc.lv.includes(priority) ? null : { ...doc, lv: [...doc.lv, priority].sort((a, b) => b - a) }));
    this.known.add(mark);
  }

  async ensureDelay(c: NatsContext, queue: string): Promise<void> {
    const mark = `${queue}\u0000d`;
    if (this.known.has(mark)) return;
    const q = this.subjectsOf(c, queue);
    await c.consumers.ensure(q.delayConsumer(), q.delayFilter());
    await this.update(c, queue, (doc) => (doc.dl ? null : { ...doc, dl: true }));
    this.known.add(mark);
  }

  /** Forgets what this process knew exists (the server lost its consumers). */
  forget(): void {
    this.known.clear();
  }

  /** Frees the slots of ended leases (no-op for leases that held none). */
  async release(c: NatsContext, queue: string, leaseIds: readonly string[]): Promise<void> {
    if (leaseIds.length === 0) return;
    await this.update(c, queue, (doc) => {
      if (!leaseIds.some((l) => l in doc.h)) return null;
      for (const l of leaseIds) delete doc.h[l];
      return doc;
    });
    c.wake.wake([this.subjectsOf(c, queue).token]);
  }
}

/** Merges a (core-validated) patch into the settings; a rate limit set anew starts with a full bucket, a changed one keeps what was used. */
export function configureDoc(doc: QueueDoc, patch: Partial<QueueSettings>, now: number): QueueDoc {
  const s: QueueSettings = { ...doc.s };
  if (patch.paused !== undefined) s.paused = patch.paused;
  if (patch.concurrency !== undefined) s.concurrency = patch.concurrency;
  if (patch.groupConcurrency !== undefined) s.groupConcurrency = patch.groupConcurrency;
  let rb = doc.rb;
  if (patch.rateLimit !== undefined) {
    const limit = patch.rateLimit === null ? null : { max: patch.rateLimit.max, perMs: patch.rateLimit.perMs };
    if (limit === null) rb = null;
    else if (rb === null || doc.s.rateLimit === null) rb = { o: now, t: 0 };
    else {
      const old = doc.s.rateLimit;
      const aheadMs = Math.max(0, (rb.t - (now - rb.o) * old.max) / old.max);
      rb = { o: now, t: Math.ceil(aheadMs * limit.max) };
    }
    s.rateLimit = limit;
  }
  return { ...doc, s, cf: true, rb, h: isCapped(s) ? doc.h : {} };
}

/** How many claims the bucket allows at `now` (Infinity without a rate limit). */
export function tokensAvailable(doc: QueueDoc, now: number): number {
  const limit = doc.s.rateLimit;
  if (limit === null || doc.rb === null) return Infinity;
  const { max, perMs } = limit;
  const nowUnits = (now - doc.rb.o) * max;
  const slack = perMs * (max - 1) - (Math.max(doc.rb.t, nowUnits) - nowUnits);
  return slack < 0 ? 0 : Math.floor(slack / perMs) + 1;
}

/** Spends `n` claims at `now` (which the bucket allows). */
export function takeTokens(doc: QueueDoc, n: number, now: number): void {
  const limit: RateLimit | null = doc.s.rateLimit;
  if (limit === null || doc.rb === null || n <= 0) return;
  const units = (now - doc.rb.o) * limit.max;
  // Full again: count from now, so the units stay small integers.
  if (doc.rb.t <= units) doc.rb = { o: now, t: 0 };
  const base = Math.max(doc.rb.t, (now - doc.rb.o) * limit.max);
  doc.rb = { o: doc.rb.o, t: base + n * limit.perMs };
}

/** Gives back claims reserved but not made. */
export function returnTokens(doc: QueueDoc, n: number): void {
  const limit = doc.s.rateLimit;
  if (limit === null || doc.rb === null || n <= 0) return;
  doc.rb = { o: doc.rb.o, t: Math.max(0, doc.rb.t - n * limit.perMs) };
}

/** When the bucket next allows a claim (backend ms), or null when it allows one now or has no limit. */
export function refillAt(doc: QueueDoc, now: number): number | null {
  const limit = doc.s.rateLimit;
  if (limit === null || doc.rb === null || tokensAvailable(doc, now) > 0) return null;
  return doc.rb.o + Math.ceil((doc.rb.t - limit.perMs * (limit.max - 1)) / limit.max);
}

/** Leases held per group (for the group cap). */
export function groupCounts(doc: QueueDoc): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [, g] of Object.values(doc.h)) if (g !== null) counts.set(g, (counts.get(g) ?? 0) + 1);
  return counts;
}
