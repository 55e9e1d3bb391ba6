// Queue on a JetStream work-queue stream. Each task with a live delivery is one message on
// `<prefix>.q.<task>`; the stream refuses a second message per subject (discard_new_per_subject),
// which is "at most one live delivery per task" enforced by the server. All workers pull from
// one durable consumer with explicit acks. A claim records the lease in the `leases` bucket
// (leaseId, expiry on the backend clock, the delivery's ack subject); every ack / release /
// extend is a compare-and-set on that entry, so a holder whose lease moved on is refused.
// JetStream's ack timer is kept at or beyond the lease (ack_wait, progress acks, NAK delays),
// so the server redelivers on its own only after a lease could have expired.
import { newId, type ClaimOptions, type Delivery, type LeaseRef, type Queue, type QueueDepth, type QueueItem } from '@baton/core';
import { headers as makeHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Versioned } from './nats-bucket.js';
import { jsCode, JsCode } from './nats-errors.js';
import { decodeToken, encodeToken } from './nats-names.js';
import { pull, type PulledMsg } from './nats-pull.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';

/** A lease as stored: l = leaseId, e = expiry (backend ms), r = ack subject of the delivery, s = stream sequence. */
interface LeaseEntry {
  l: string;
  e: number;
  r: string;
  s: number;
}

/** A delivery waiting out a delay: d = due (backend ms), s = stream sequence. Kept for depth() and early-redelivery checks. */
interface DelayEntry {
  d: number;
  s: number;
}

export const DUE_HEADER = 'Baton-Due';
const EMPTY = new Uint8Array(0);
const ACK = '+ACK';
const PROGRESS = '+WPI';
/** Claims stop after this many pull rounds that yielded nothing claimable (delayed or parked messages). */
const MAX_ROUNDS = 50;
const LEASE_CACHE_MAX = 50_000;

function nak(delayMs = 0): string {
  return delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.ceil(delayMs) * 1e6 })}` : '-NAK';
}

export class NatsQueue implements Queue {
  /** leaseId → the entry this process last wrote, so ack/extend usually skip a read. */
  private readonly known = new Map<string, Versioned<LeaseEntry>>();

  constructor(private readonly rt: NatsRuntime) {}

  async enqueue(items: QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.rt.run('enqueue into the queue', async (c) => {
      const nonce = newId();
      await Promise.all(
        items.map(async (item, i) => {
          const token = encodeToken(item.taskId);
          const delay = Math.max(0, Math.floor(item.delayMs ?? 0));
          const due = c.clock.now() + delay;
          const h = makeHeaders();
          if (delay > 0) h.set(DUE_HEADER, String(due));
          // The msg id makes a retried publish of this call a no-op within the duplicate window.
          const opts = { msgID: `${token}:${nonce}:${i}`, headers: h };
          const subject = c.names.queueSubject(token);
          let seq: number;
          try {
            const pa = await c.js.publish(subject, EMPTY, opts).catch((err: unknown) => {
              if (jsCode(err) !== null) throw err;
              return c.js.publish(subject, EMPTY, opts);
            });
            if (pa.duplicate) return;
            seq = pa.seq;
          } catch (err) {
            // The task already has a live delivery (ready, leased or delayed): leave it as it is.
            if (jsCode(err) === JsCode.MaxMessagesPerSubject) return;
            throw err;
          }
          if (delay > 0) await c.buckets.delays.put<DelayEntry>(token, { d: due, s: seq });
        }),
      );
    });
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    const limit = Math.floor(options.limit);
    if (!(limit > 0) || options.signal?.aborted) return [];
    return this.rt.run('claim from the queue', async (c) => {
      const out: Delivery[] = [];
      const deadline = Date.now() + Math.max(0, options.waitMs);
      const { queueStream, queueConsumer } = c.names;
      for (let round = 0; round < MAX_ROUNDS && out.length < limit; round++) {
        let msgs = await pull(c.nc, queueStream, queueConsumer, { batch: limit - out.length, noWait: true });
        if (msgs.length === 0) {
          const left = deadline - Date.now();
          if (out.length > 0 || left <= 0 || options.signal?.aborted) break;
          msgs = await pull(c.nc, queueStream, queueConsumer, { batch: 1, expiresMs: left, signal: options.signal });
          if (msgs.length === 0) break;
        }
        const taken = await Promise.all(msgs.map((m) => this.take(c, m, options.leaseMs)));
        for (const d of taken) if (d) out.push(d);
      }
      return out;
    });
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('ack deliveries', (c) =>
      Promise.all(
        refs.map(async (ref) => {
          const entry = await this.dropLease(c, ref);
          if (!entry) return false;
          // Request form: the server answers once the message is gone, so a read right after sees it.
          await c.nc.request(entry.r, ACK, { timeout: c.ackTimeoutMs });
          return true;
        }),
      ),
    );
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('release deliveries', (c) =>
      Promise.all(
        refs.map(async (ref) => {
          const entry = await this.dropLease(c, ref);
          if (!entry) return false;
          const delay = Math.max(0, Math.floor(ref.delayMs ?? 0));
          if (delay > 0) await c.buckets.delays.put<DelayEntry>(encodeToken(ref.taskId), { d: c.clock.now() + delay, s: entry.s });
          await c.nc.request(entry.r, nak(delay), { timeout: c.ackTimeoutMs });
          return true;
        }),
      ),
    );
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('extend leases', (c) =>
      Promise.all(
        refs.map(async (ref) => {
          const token = encodeToken(ref.taskId);
          let cur: Versioned<LeaseEntry> | null = this.cached(ref, token);
          for (let i = 0; i < 5; i++) {
            cur ??= await c.buckets.leases.get<LeaseEntry>(token);
            if (!cur || cur.value.l !== ref.leaseId) {
              this.known.delete(ref.leaseId);
              return false;
            }
            const next: LeaseEntry = { ...cur.value, e: c.clock.now() + leaseMs };
            const rev = await c.buckets.leases.update(token, next, cur.revision);
            if (rev !== null) {
              this.remember(ref.leaseId, { key: token, value: next, revision: rev, time: 0 });
              this.armTimer(c.nc, next.r, leaseMs, c.ackWaitMs);
              return true;
            }
            cur = null;
          }
          return false;
        }),
      ),
    );
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (!(limit > 0)) return [];
    return this.rt.run('reclaim expired leases', async (c) => {
      // The leases bucket holds only live leases (deletes leave no tombstone): O(in-flight) scan.
      const now = c.clock.now();
      const expired = (await c.buckets.leases.scan<LeaseEntry>('>')).filter((e) => e.value.e <= now).sort((a, b) => a.value.e - b.value.e);
      const out: LeaseRef[] = [];
      for (const found of expired) {
        if (out.length >= limit) break;
        let cur: Versioned<LeaseEntry> | null = found;
        for (let i = 0; i < 3 && cur; i++) {
          if (await c.buckets.leases.deleteRevision(cur.revision)) {
            this.known.delete(cur.value.l);
            // Hand the message straight back (its ack timer may be far off); the entry's ack
            // subject is kept current by claimers that saw the message redelivered.
            await c.nc.request(cur.value.r, nak(), { timeout: c.ackTimeoutMs }).catch((err: unknown) => {
              c.logger.warn({ err, taskId: decodeToken(found.key) }, 'NATS: could not hand a reclaimed delivery back at once; it returns when its ack wait ends');
            });
            out.push({ taskId: decodeToken(found.key), leaseId: cur.value.l });
            break;
          }
          const fresh: Versioned<LeaseEntry> | null = await c.buckets.leases.get<LeaseEntry>(found.key);
          cur = fresh && fresh.value.l === found.value.l && fresh.value.e <= c.clock.now() ? fresh : null;
        }
      }
      return out;
    });
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.rt.run('remove deliveries', async (c) => {
      const removed = await Promise.all(
        [...new Set(taskIds)].map(async (taskId) => {
          const token = encodeToken(taskId);
          let dropped = false;
          const sm = await c.jsm.direct.getMessage(c.names.queueStream, { last_by_subj: c.names.queueSubject(token) });
          if (sm) {
            // Deleting by sequence keeps the consumer consistent (a filtered purge resets its ack floor on 2.9).
            dropped = await c.jsm.streams.deleteMessage(c.names.queueStream, sm.seq, false).catch((err: unknown) => {
              if (jsCode(err) === JsCode.MessageDeleteFailed) return false;
              throw err;
            });
          }
          const lease = await c.buckets.leases.get<LeaseEntry>(token);
          if (lease) {
            this.known.delete(lease.value.l);
            await c.buckets.leases.deleteKey(token);
          }
          await c.buckets.delays.deleteKey(token);
          return dropped;
        }),
      );
      return removed.filter(Boolean).length;
    });
  }

  async depth(): Promise<QueueDepth> {
    return this.rt.run('read queue depth', async (c) => {
      const [si, leased, delays] = await Promise.all([
        c.jsm.streams.info(c.names.queueStream),
        c.buckets.leases.count(),
        c.buckets.delays.scan<DelayEntry>('>'),
      ]);
      const now = c.clock.now();
      const delayed = delays.filter((d) => d.value.d > now).length;
      return { ready: Math.max(0, si.state.messages - leased - delayed), leased, delayed };
    });
  }

  /** Decides what one pulled message is: a claim, a delivery not yet due, or a lease awaiting reclaim. */
  private async take(c: NatsContext, m: PulledMsg, leaseMs: number): Promise<Delivery | null> {
    const token = m.subject.slice(c.names.queueSubject('').length);
    const taskId = decodeToken(token);
    const { leases, delays } = c.buckets;
    const dueHeader = Number(m.headers?.get(DUE_HEADER) || 0);
    if (dueHeader > 0 && dueHeader - c.clock.now() > 0) {
      c.nc.publish(m.reply, nak(dueHeader - c.clock.now()));
      return null;
    }
    // A redelivery may be a release with delay (due in the delays bucket) or a reclaim; a
    // first delivery with a due header had its delay entry written by enqueue.
    if (dueHeader > 0 || m.deliveryCount > 1) {
      const d = await delays.get<DelayEntry>(token);
      if (d) {
        const left = d.value.d - c.clock.now();
        if (left > 0 && d.value.s === m.streamSeq) {
          c.nc.publish(m.reply, nak(left));
          return null;
        }
        await delays.deleteRevision(d.revision);
      }
    }
    // A first delivery almost never has a lease entry: try to create one before reading.
    let guess = m.deliveryCount === 1;
    for (let i = 0; i < 5; i++) {
      const now = c.clock.now();
      if (guess) {
        guess = false;
        const claimed = await this.createLease(c, token, taskId, m, leaseMs, now);
        if (claimed) return claimed;
      }
      const cur = await leases.get<LeaseEntry>(token);
      if (cur && cur.value.s === m.streamSeq) {
        const moved = cur.value.r === m.reply ? cur.revision : await leases.update(token, { ...cur.value, r: m.reply }, cur.revision);
        if (moved === null) continue; // the entry changed under us (acked, extended, reclaimed): look again
        if (cur.value.e > now) {
          // The server's timer ran ahead of a lease extended elsewhere: re-arm it to the lease.
          c.nc.publish(m.reply, nak(cur.value.e - now));
        } else {
          // Expired but not yet reported by reclaimExpired, which will hand it back at once.
          c.nc.publish(m.reply, nak(Math.min(c.ackWaitMs, 30_000)));
        }
        return null;
      }
      if (cur) {
        // Left over from an earlier delivery of this task whose message is gone (removed): stale.
        await leases.deleteRevision(cur.revision);
        continue;
      }
      const claimed = await this.createLease(c, token, taskId, m, leaseMs, now);
      if (claimed) return claimed;
    }
    // Could not settle the message's state: hand it back for another claim.
    c.nc.publish(m.reply, nak());
    return null;
  }

  /** Leases the message if no lease entry exists (create-if-absent): the one claim that wins. */
  private async createLease(c: NatsContext, token: string, taskId: string, m: PulledMsg, leaseMs: number, now: number): Promise<Delivery | null> {
    const entry: LeaseEntry = { l: newId(), e: now + leaseMs, r: m.reply, s: m.streamSeq };
    const rev = await c.buckets.leases.create(token, entry);
    if (rev === null) return null;
    this.remember(entry.l, { key: token, value: entry, revision: rev, time: 0 });
    if (leaseMs > c.ackWaitMs) this.armTimer(c.nc, m.reply, leaseMs, c.ackWaitMs);
    return { taskId, leaseId: entry.l };
  }

  /** Removes the lease entry if it still belongs to `ref`; returns it (with the current ack subject). */
  private async dropLease(c: NatsContext, ref: LeaseRef): Promise<LeaseEntry | null> {
    const token = encodeToken(ref.taskId);
    let cur: Versioned<LeaseEntry> | null = this.cached(ref, token);
    for (let i = 0; i < 5; i++) {
      cur ??= await c.buckets.leases.get<LeaseEntry>(token);
      if (!cur || cur.value.l !== ref.leaseId) break;
      if (await c.buckets.leases.deleteRevision(cur.revision)) {
        this.known.delete(ref.leaseId);
        return cur.value;
      }
      cur = null;
    }
    this.known.delete(ref.leaseId);
    return null;
  }

  /** Keeps JetStream's redelivery timer at or beyond the lease: progress ack resets it to ack_wait, a NAK delay sets it exactly. */
  private armTimer(nc: NatsConnection, reply: string, leaseMs: number, ackWaitMs: number): void {
    nc.publish(reply, leaseMs > ackWaitMs ? nak(leaseMs) : PROGRESS);
  }

  private cached(ref: LeaseRef, token: string): Versioned<LeaseEntry> | null {
    const hit = this.known.get(ref.leaseId);
    return hit && hit.key === token ? hit : null;
  }

  private remember(leaseId: string, entry: Versioned<LeaseEntry>): void {
    this.known.delete(leaseId);
    this.known.set(leaseId, entry);
    if (this.known.size > LEASE_CACHE_MAX) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }
}
