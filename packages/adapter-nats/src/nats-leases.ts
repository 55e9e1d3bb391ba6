// Leased deliveries: one entry per task in the leases bucket (`<task>`), written with
// create-if-absent by the claim that wins the delivery, so a task has at most one lease. Every ack,
// release and extend is a compare-and-set on the entry's revision: a holder whose lease was
// reclaimed, released or removed is refused. Handing a delivery back (release, reclaim) first marks
// the entry (`x`) — that is what takes the lease away from its holder — then publishes a fresh
// delivery message, then deletes the entry; a claimer that pulls that message while the mark is
// still there takes the marked entry over. A marked entry whose taker died midway is finished by
// the next reclaim pass, so no step can lose the delivery.
import { type LeaseRef } from '@baton/core/adapter';
import type { RawEntry } from './nats-bucket.js';
import { decodeJson, encodeJson, isNullableString, isNumber, isObject, isString, type Decoded } from './nats-codec.js';
import { publishDelivery } from './nats-deliveries.js';
import { decodeToken, encodeToken } from './nats-names.js';
import type { QueueDocs } from './nats-queue-docs.js';
import type { NatsContext } from './nats-runtime.js';

export interface LeaseEntry {
  /** leaseId */
  l: string;
  /** Expiry, backend ms. */
  e: number;
  /** Queue, priority and group of the delivery. */
  q: string;
  p: number;
  g: string | null;
  /** Stream sequence of the message it was claimed from. */
  m: number;
  /** Set when the lease holds a slot in its queue's document. */
  c?: 1;
  /** Being handed back: 'r' released, 'e' reclaimed after expiry. */
  x?: 'r' | 'e';
  /** Who marked it (a reclaim pass), when, and the release delay. */
  xp?: string;
  xa?: number;
  xd?: number;
}

export interface Lease {
  key: string;
  taskId: string;
  value: LeaseEntry;
  revision: number;
}

const isLease = (v: unknown): v is LeaseEntry =>
  isObject(v) && isString(v['l']) && isNumber(v['e']) && isString(v['q']) && isNumber(v['p']) && isNullableString(v['g']) && isNumber(v['m']);

export function decodeLease(entry: RawEntry): Decoded<Lease> {
  const d = decodeJson(entry.data, isLease);
  const taskId = decodeToken(entry.key);
  if (!d.ok) return d;
  if (taskId === null) return { ok: false, reason: 'not a task key', raw: entry.key };
  return { ok: true, value: { key: entry.key, taskId, value: d.value, revision: entry.revision } };
}

const CACHE_MAX = 50_000;

export class Leases {
  /** leaseId → the entry this process last wrote, so ack and extend usually skip a read. */
  private readonly known = new Map<string, Lease>();

  constructor(private readonly docs: QueueDocs) {}

  async create(c: NatsContext, taskId: string, entry: LeaseEntry): Promise<boolean> {
    const key = encodeToken(taskId);
    const rev = await c.buckets.leases.create(key, encodeJson(entry));
    if (rev === null) return false;
    this.remember({ key, taskId, value: entry, revision: rev });
    return true;
  }

  async read(c: NatsContext, taskId: string): Promise<Lease | null> {
    const entry = await c.buckets.leases.get(encodeToken(taskId));
    if (!entry) return null;
    const d = decodeLease(entry);
    return d.ok ? d.value : null;
  }

  /** Replaces a marked (handed-back) entry with a new lease; false when it moved on. */
  async takeOver(c: NatsContext, marked: Lease, entry: LeaseEntry): Promise<boolean> {
    const rev = await c.buckets.leases.update(marked.key, encodeJson(entry), marked.revision);
    if (rev === null) return false;
    this.known.delete(marked.value.l);
    this.remember({ key: marked.key, taskId: marked.taskId, value: entry, revision: rev });
    return true;
  }

  /** Ends the lease (ack); its slot is free again. */
  async ack(c: NatsContext, ref: LeaseRef): Promise<boolean> {
    let cur = this.cached(ref);
    for (let i = 0; i < 5; i++) {
      cur ??= await this.held(c, ref);
      if (!cur) break;
      if (await c.buckets.leases.deleteRevision(cur.revision)) {
        this.known.delete(ref.leaseId);
        if (cur.value.c) await this.docs.release(c, cur.value.q, [cur.value.l]);
        return true;
      }
      cur = null;
    }
    this.known.delete(ref.leaseId);
    return false;
  }

  async extend(c: NatsContext, ref: LeaseRef, leaseMs: number): Promise<boolean> {
    let cur = this.cached(ref);
    for (let i = 0; i < 5; i++) {
      cur ??= await this.held(c, ref);
      if (!cur) break;
      const next: LeaseEntry = { ...cur.value, e: c.clock.now() + leaseMs };
      const rev = await c.buckets.leases.update(cur.key, encodeJson(next), cur.revision);
      if (rev !== null) {
        this.remember({ ...cur, value: next, revision: rev });
        return true;
      }
      cur = null;
    }
    this.known.delete(ref.leaseId);
    return false;
  }

  /** Takes the lease from its holder and makes the delivery claimable again (after `delayMs`). */
  async release(c: NatsContext, ref: LeaseRef, delayMs: number): Promise<boolean> {
    let cur = this.cached(ref);
    for (let i = 0; i < 5; i++) {
      cur ??= await this.held(c, ref);
      if (!cur) break;
      const marked: LeaseEntry = { ...cur.value, x: 'r', xa: c.clock.now(), ...(delayMs > 0 ? { xd: delayMs } : {}) };
      const rev = await c.buckets.leases.update(cur.key, encodeJson(marked), cur.revision);
      if (rev !== null) {
        this.known.delete(ref.leaseId);
        await this.handBack(c, { ...cur, value: marked, revision: rev });
        return true;
      }
      cur = null;
    }
    this.known.delete(ref.leaseId);
    return false;
  }

  /**
   * Publishes a fresh delivery for a marked entry, deletes the entry and frees its slot. Never
   * throws: a handback that fails midway leaves the marked entry for the next reclaim pass.
   */
  async handBack(c: NatsContext, lease: Lease): Promise<boolean> {
    const v = lease.value;
    try {
      const delayMs = v.xd ?? 0;
      if (delayMs > 0) await this.docs.ensureDelay(c, v.q);
      else await this.docs.ensureLevel(c, v.q, v.p);
      const now = c.clock.now();
      await publishDelivery(c, this.docs.subjectsOf(c, v.q), { taskId: lease.taskId, priority: v.p, group: v.g }, now, delayMs > 0 ? now + delayMs : null);
      // False: a claimer already took the marked entry over with the new message.
      await c.buckets.leases.deleteRevision(lease.revision);
      if (v.c) await this.docs.release(c, v.q, [v.l]);
      else c.wake.wake([this.docs.subjectsOf(c, v.q).token]);
      if (delayMs > 0) c.wake.wake([this.docs.subjectsOf(c, v.q).token], now + delayMs, now);
      return true;
    } catch (err) {
      c.logger.warn({ err, taskId: lease.taskId, leaseId: v.l }, 'NATS: could not hand a delivery back to its queue yet; the next reclaim pass finishes it');
      return false;
    }
  }

  /** Drops the task's lease whatever its state (cancellation); true when there was one. */
  async remove(c: NatsContext, taskId: string): Promise<boolean> {
    const key = encodeToken(taskId);
    for (let i = 0; i < 10; i++) {
      const entry = await c.buckets.leases.get(key);
      if (!entry) return false;
      if (!(await c.buckets.leases.deleteRevision(entry.revision))) continue;
      const d = decodeLease(entry);
      if (d.ok) {
        this.known.delete(d.value.value.l);
        if (d.value.value.c) await this.docs.release(c, d.value.value.q, [d.value.value.l]);
      }
      return true;
    }
    return false;
  }

  forget(leaseId: string): void {
    this.known.delete(leaseId);
  }

  /** The task's lease if it is still `ref.leaseId` and not being handed back. */
  private async held(c: NatsContext, ref: LeaseRef): Promise<Lease | null> {
    const cur = await this.read(c, ref.taskId);
    return cur && cur.value.l === ref.leaseId && cur.value.x === undefined ? cur : null;
  }

  private cached(ref: LeaseRef): Lease | null {
    const hit = this.known.get(ref.leaseId);
    return hit && hit.taskId === ref.taskId ? hit : null;
  }

  remember(lease: Lease): void {
    this.known.delete(lease.value.l);
    this.known.set(lease.value.l, lease);
    if (this.known.size > CACHE_MAX) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }
}
