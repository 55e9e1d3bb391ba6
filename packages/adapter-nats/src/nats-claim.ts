// One claim across a worker's queues. Each queue has one durable consumer per priority level
// (filter `<p>.r.<queue>.<priority>.*`) and one for its delayed deliveries. A claim reads the
// queues' documents (pause, limits, levels), takes the due delayed deliveries, then walks the
// priority levels from the highest down, pulling from every listed queue's consumer at that level
// and taking by readiness, then enqueue order (the stream sequence), until it has `limit`. What it
// pulled and does not take goes back with a NAK, in stream order, so it stays at the front of its
// consumer. Capped and rate-limited queues reserve their slots and tokens in their document with
// compare-and-set before the leases are written; a lease is created with create-if-absent, so one
// delivery never goes to two claimers, and the message is acked once its lease exists.
import { newId, type ClaimOptions, type Delivery as LeaseRef } from '@baton/core/adapter';
import { Acks, decodeDelivery, isDelivery, nakMessage, quarantineMessage, type Delivery } from './nats-deliveries.js';
import type { LeaseEntry, Leases } from './nats-leases.js';
import { pull, PullTargetMissingError, type PulledMsg } from './nats-pull.js';
import { groupCounts, isCapped, refillAt, returnTokens, takeTokens, tokensAvailable, type QueueDoc, type QueueDocs, type Versioned } from './nats-queue-docs.js';
import type { NatsContext } from './nats-runtime.js';
import { encodeToken } from './nats-names.js';

/** A waiting claim looks again at least this often (delayed deliveries another process saw first, parked group members). */
const POLL_MS = 1_000;
/** Due delayed deliveries considered per queue and claim (beyond this, their order among themselves is approximate). */
const DELAYED_BATCH = 64;
/** Extra pulls at one level when group caps made the claim skip deliveries. */
const GROUP_ROUNDS = 3;

interface Plan {
  name: string;
  doc: Versioned<QueueDoc>;
  /** How many this claim may still take from the queue. */
  budget: number;
  /** Leased per group, when the queue has a group cap. */
  groups: Map<string, number> | null;
}

interface Pick {
  d: Delivery;
  leaseId: string;
}

const byReadiness = (a: Delivery, b: Delivery) => a.readyAt - b.readyAt || a.msg.streamSeq - b.msg.streamSeq;

export class Claimer {
  /** Acks of claimed messages: depth() waits for them, so it never counts a claimed delivery as ready. */
  readonly acks: Acks;

  constructor(
    private readonly docs: QueueDocs,
    private readonly leases: Leases,
    ackTimeoutMs: () => number,
  ) {
    this.acks = new Acks(ackTimeoutMs);
  }

  async claim(c: NatsContext, o: ClaimOptions): Promise<LeaseRef[]> {
    if (o.limit <= 0 || o.signal?.aborted) return [];
    const tokens = o.queues.map((q) => this.docs.subjectsOf(c, q).token);
    const deadline = Date.now() + Math.max(0, o.waitMs);
    for (;;) {
      const generation = c.wake.generation(tokens);
      const next = { at: Infinity };
      const got = await this.once(c, o, next);
      if (got.length > 0) return got;
      const left = deadline - Date.now();
      if (left <= 0 || o.signal?.aborted) return [];
      await c.wake.wait(tokens, generation, Math.max(1, Math.min(left, next.at - c.clock.now(), POLL_MS)), o.signal);
    }
  }

  private async once(c: NatsContext, o: ClaimOptions, next: { at: number }): Promise<LeaseRef[]> {
    const now = c.clock.now();
    const plans = new Map<string, Plan>();
    for (const doc of await Promise.all(o.queues.map((q) => this.docs.read(c, q)))) {
      const s = doc.value.s;
      if (s.paused) continue;
      const cap = s.concurrency === null ? Infinity : s.concurrency - Object.keys(doc.value.h).length;
      const tokens = tokensAvailable(doc.value, now);
      const refill = refillAt(doc.value, now);
      if (refill !== null) next.at = Math.min(next.at, refill);
      const budget = Math.min(o.limit, cap, tokens);
      if (budget > 0) plans.set(doc.value.name, { name: doc.value.name, doc, budget, groups: s.groupConcurrency === null ? null : groupCounts(doc.value) });
    }
    if (plans.size === 0) return [];
    // Every message this claim pulled: what it does not lease goes back (NAK) in stream order, so it
    // keeps its place at the front of its consumer; members of a group at its cap are parked briefly.
    const held: Delivery[] = [];
    const parked = new Map<PulledMsg, number>();
    const settled = new Set<PulledMsg>();
    try {
      const delayed = await this.dueDelayed(c, [...plans.values()], now, next);
      held.push(...delayed);
      const picks = await this.pick(c, plans, delayed, o.limit, held, parked, now, next);
      const allowed = await this.reserve(c, plans, picks, o.leaseMs);
      const leased = await Promise.all(
        allowed.map(async (pick) => {
          const ok = await this.lease(c, pick, o.leaseMs, isCapped(plans.get(pick.d.queue)!.doc.value.s));
          settled.add(pick.d.msg);
          return ok;
        }),
      );
      await this.giveBack(c, plans, allowed.filter((_, i) => !leased[i]));
      return allowed.filter((_, i) => leased[i]).map((p) => ({ taskId: p.d.taskId, leaseId: p.leaseId }));
    } finally {
      for (const d of held.sort((a, b) => a.msg.streamSeq - b.msg.streamSeq)) if (!settled.has(d.msg)) nakMessage(c, d.msg, parked.get(d.msg) ?? 0);
    }
  }

  /**
   * Walks the priority levels from the highest down; at each, pulls from every listed queue's
   * consumer and takes by readiness, then stream order, within each queue's budget and group cap.
   */
  private async pick(c: NatsContext, plans: Map<string, Plan>, delayed: readonly Delivery[], limit: number, held: Delivery[], parked: Map<PulledMsg, number>, now: number, next: { at: number }): Promise<Pick[]> {
    const picks: Pick[] = [];
    const levels = new Set<number>(delayed.map((d) => d.priority));
    for (const p of plans.values()) for (const lv of p.doc.value.lv) levels.add(lv);
    for (const priority of [...levels].sort((a, b) => b - a)) {
      if (picks.length >= limit) break;
      const pool = delayed.filter((d) => d.priority === priority);
      for (let round = 0, more = true; more && picks.length < limit && round <= GROUP_ROUNDS; round++) {
        const sources = [...plans.values()].filter((p) => p.budget > 0 && p.doc.value.lv.includes(priority));
        const pulled = await Promise.all(
          sources.map(async (p) => {
            const want = Math.min(limit - picks.length, p.budget);
            const ds = await this.pullLevel(c, p.name, priority, want);
            return { ds, full: ds.length >= want };
          }),
        );
        for (const x of pulled) {
          held.push(...x.ds);
          pool.push(...x.ds);
        }
        pool.sort(byReadiness);
        let skipped = 0;
        for (const d of pool.splice(0)) {
          const plan = plans.get(d.queue);
          if (picks.length >= limit || plan === undefined || plan.budget <= 0) continue;
          const cap = plan.doc.value.s.groupConcurrency;
          if (cap !== null && d.group !== null && (plan.groups?.get(d.group) ?? 0) >= cap) {
            const delayMs = Math.min(500, 25 * 2 ** Math.min(d.msg.deliveryCount - 1, 5));
            parked.set(d.msg, delayMs);
            next.at = Math.min(next.at, now + delayMs);
            skipped++;
            continue;
          }
          plan.budget--;
          if (d.group !== null) plan.groups?.set(d.group, (plan.groups.get(d.group) ?? 0) + 1);
          picks.push({ d, leaseId: newId() });
        }
        // Skipped members of capped groups: look further into the level for deliveries of other groups.
        more = skipped > 0 && pulled.some((x) => x.full);
      }
    }
    return picks;
  }

  /** Due delayed deliveries of the queues; ones not yet due go back to wait on the server until their time. */
  private async dueDelayed(c: NatsContext, plans: readonly Plan[], now: number, next: { at: number }): Promise<Delivery[]> {
    const out: Delivery[] = [];
    await Promise.all(
      plans
        .filter((p) => p.doc.value.dl)
        .map(async (p) => {
          const q = this.docs.subjectsOf(c, p.name);
          for (const d of await this.pullFrom(c, q.delayConsumer(), q.delayFilter(), DELAYED_BATCH)) {
            if (d.readyAt <= now) out.push(d);
            else {
              nakMessage(c, d.msg, d.readyAt - now);
              next.at = Math.min(next.at, d.readyAt);
            }
          }
        }),
    );
    return out.sort((a, b) => b.priority - a.priority || byReadiness(a, b));
  }

  private pullLevel(c: NatsContext, queue: string, priority: number, n: number): Promise<Delivery[]> {
    const q = this.docs.subjectsOf(c, queue);
    return this.pullFrom(c, q.levelConsumer(priority), q.levelFilter(priority), n);
  }

  /** Pulls what is there now (no wait); messages that cannot be decoded are set aside, never returned. */
  private async pullFrom(c: NatsContext, consumer: string, filter: string, n: number): Promise<Delivery[]> {
    if (n <= 0) return [];
    let msgs: PulledMsg[];
    try {
      msgs = await pull(c.nc, c.names.queueStream, consumer, { batch: n, noWait: true });
    } catch (err) {
      if (!(err instanceof PullTargetMissingError)) throw err;
      // Listed but gone (the server lost it): create it again; it is empty then.
      c.consumers.forget(consumer);
      this.docs.forget();
      await c.consumers.ensure(consumer, filter);
      return [];
    }
    const out: Delivery[] = [];
    for (const m of msgs) {
      const d = decodeDelivery(c, m);
      if (isDelivery(d)) out.push(d);
      else await quarantineMessage(c, m, d.reason, d.raw);
    }
    return out;
  }

  /**
   * Reserves slots (holders) and tokens in the documents of capped and rate-limited queues, with
   * compare-and-set: of the picks, those the queue still allows now, in order; the rest go back.
   */
  private async reserve(c: NatsContext, plans: Map<string, Plan>, picks: Pick[], leaseMs: number): Promise<Pick[]> {
    const refused = new Set<Pick>();
    await Promise.all(
      [...plans.values()].map(async (plan) => {
        const s = plan.doc.value.s;
        const mine = picks.filter((p) => p.d.queue === plan.name);
        if (mine.length === 0 || (!isCapped(s) && s.rateLimit === null)) return;
        let allowed: Pick[] = [];
        await this.docs.update(
          c,
          plan.name,
          (doc) => {
            const now = c.clock.now();
            let room = Math.min(doc.s.concurrency === null ? Infinity : doc.s.concurrency - Object.keys(doc.h).length, tokensAvailable(doc, now));
            const groups = groupCounts(doc);
            const cap = doc.s.groupConcurrency;
            allowed = [];
            for (const p of mine) {
              if (doc.s.paused || room <= 0) break;
              if (cap !== null && p.d.group !== null && (groups.get(p.d.group) ?? 0) >= cap) continue;
              room--;
              if (p.d.group !== null) groups.set(p.d.group, (groups.get(p.d.group) ?? 0) + 1);
              allowed.push(p);
            }
            if (allowed.length === 0) return null;
            if (isCapped(doc.s)) for (const p of allowed) doc.h[p.leaseId] = [encodeToken(p.d.taskId), p.d.group, now + leaseMs];
            takeTokens(doc, allowed.length, now);
            return doc;
          },
          plan.doc,
        );
        for (const p of mine) if (!allowed.includes(p)) refused.add(p);
      }),
    );
    return picks.filter((p) => !refused.has(p));
  }

  /** Returns the slots and tokens reserved for picks whose lease was not written (another claim had the task). */
  private async giveBack(c: NatsContext, plans: Map<string, Plan>, lost: readonly Pick[]): Promise<void> {
    for (const queue of new Set(lost.map((p) => p.d.queue))) {
      const s = plans.get(queue)!.doc.value.s;
      if (!isCapped(s) && s.rateLimit === null) continue;
      const mine = lost.filter((p) => p.d.queue === queue);
      await this.docs.update(c, queue, (doc) => {
        for (const p of mine) delete doc.h[p.leaseId];
        returnTokens(doc, mine.length);
        return doc;
      });
      c.wake.wake([this.docs.subjectsOf(c, queue).token]);
    }
  }

  /** Writes the lease of a pick; true when it is ours. The message is acked either way once it is settled. */
  private async lease(c: NatsContext, pick: Pick, leaseMs: number, counted: boolean): Promise<boolean> {
    const { d, leaseId } = pick;
    const entry: LeaseEntry = { l: leaseId, e: c.clock.now() + leaseMs, q: d.queue, p: d.priority, g: d.group, m: d.msg.streamSeq, ...(counted ? { c: 1 as const } : {}) };
    for (let i = 0; i < 3; i++) {
      if (await this.leases.create(c, d.taskId, entry)) return this.acked(c, d.msg, true);
      const existing = await this.leases.read(c, d.taskId);
      if (existing === null) continue; // gone meanwhile (acked, handed back): try again
      // Handed back (released or reclaimed) and this is its fresh message: take the marked entry over.
      if (existing.value.x !== undefined) {
        if (await this.leases.takeOver(c, existing, entry)) return this.acked(c, d.msg, true);
        continue;
      }
      // Already leased: this message was claimed before (its ack was lost) or is a duplicate of a live delivery.
      return this.acked(c, d.msg, false);
    }
    nakMessage(c, d.msg, 1_000);
    return false;
  }

  private acked(c: NatsContext, m: PulledMsg, result: boolean): boolean {
    this.acks.ack(c, m);
    return result;
  }
}
