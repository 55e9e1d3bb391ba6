// Queue on JetStream. A ready delivery is a message in the work-queue stream on a subject per
// queue, priority and task; a delayed one a message that waits for its due time; a leased one an
// entry in the leases bucket (nats-leases.ts). Claims: nats-claim.ts. Settings, levels, slots and
// the token bucket of each queue: nats-queue-docs.ts. Reclaim: nats-reclaim.ts.
//
// At most one live delivery per task: a task with a lease, a ready message or a delayed message is
// left alone by enqueue (checked before publishing; the stream refuses a second message on one
// subject), except that a task created in the same call (createAndEnqueue) cannot have one yet.
import type { ClaimOptions, Delivery, LeaseRef, Queue, QueueDepth, QueueInfo, QueueItem, QueueSettings } from '@baton/core/adapter';
import { Claimer } from './nats-claim.js';
import { publishDelivery } from './nats-deliveries.js';
import { isAlreadyGone, isMissingResource } from './nats-errors.js';
import { decodeLease, Leases } from './nats-leases.js';
import { decodePriority, decodeToken, encodeToken, taskDeliveries } from './nats-names.js';
import { configureDoc, QueueDocs, settingsOf, type QueueDoc } from './nats-queue-docs.js';
import { Reclaimer } from './nats-reclaim.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';

const ZERO: QueueDepth = { ready: 0, leased: 0, expired: 0, delayed: 0 };

export class NatsQueue implements Queue {
  readonly docs = new QueueDocs();
  readonly leases = new Leases(this.docs);
  private readonly claimer: Claimer;
  private readonly reclaimer = new Reclaimer(this.leases, this.docs);

  constructor(private readonly rt: NatsRuntime) {
    this.claimer = new Claimer(this.docs, this.leases, () => rt.requestTimeoutMs);
  }

  async enqueue(items: QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.rt.run('queue.enqueue', (c) => this.enqueueNow(c, items, false));
  }

  /**
   * `enqueue` inside a running operation. `fresh`: the tasks were created by this very call, so
   * none has a live delivery and the checks are skipped (the flow's createAndEnqueue).
   */
  async enqueueNow(c: NatsContext, items: readonly QueueItem[], fresh: boolean): Promise<void> {
    const seen = new Set<string>();
    let list = items.filter((i) => !seen.has(i.taskId) && seen.add(i.taskId));
    if (!fresh) {
      const live = await Promise.all(list.map((i) => this.isLive(c, i)));
      list = list.filter((_, k) => !live[k]);
    }
    if (list.length === 0) return;
    const delayed = (i: QueueItem) => (i.delayMs ?? 0) > 0;
    const levels = new Map<string, QueueItem>();
    for (const i of list) levels.set(delayed(i) ? `${i.queue}\u0000d` : `${i.queue}\u0000${i.priority}`, i);
    await Promise.all([...levels.values()].map((i) => (delayed(i) ? this.docs.ensureDelay(c, i.queue) : this.docs.ensureLevel(c, i.queue, i.priority))));
    const now = c.clock.now();
    // Published in the order given (pipelined on one connection), so one call keeps its FIFO order.
    await Promise.all(list.map((i) => publishDelivery(c, this.docs.subjectsOf(c, i.queue), i, now, delayed(i) ? now + Math.floor(i.delayMs!) : null)));
    c.wake.wake(list.filter((i) => !delayed(i)).map((i) => this.docs.subjectsOf(c, i.queue).token));
    // Delayed ones wake every process's waiting claims at their due time (one wake per queue and 25 ms).
    const dues = new Map<string, [string, number]>();
    for (const i of list.filter(delayed)) {
      const token = this.docs.subjectsOf(c, i.queue).token;
      const due = now + Math.floor(i.delayMs!);
      dues.set(`${token} ${Math.ceil(due / 25)}`, [token, due]);
    }
    for (const [token, due] of dues.values()) c.wake.wake([token], due, now);
  }

  /** Whether the task has a delivery already: a lease, or a ready or delayed message. */
  private async isLive(c: NatsContext, i: QueueItem): Promise<boolean> {
    const token = encodeToken(i.taskId);
    const has = async (subject: string) => (await c.jsm.direct.getMessage(c.names.queueStream, { last_by_subj: subject })) !== null;
    // Messages before the lease: a claim writes its lease before it acks the message, so one of
    // the two is seen. Its own ready subject first (the common case, e.g. a backlog the reconciler
    // re-enqueues), then the lease, then any queue and priority, ready or delayed.
    if (await has(this.docs.subjectsOf(c, i.queue).ready(i.priority, token))) return true;
    if ((await c.buckets.leases.get(token)) !== null) return true;
    for (const subject of taskDeliveries(c.names, token)) if (await has(subject)) return true;
    return false;
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    if (options.limit <= 0 || options.signal?.aborted) return [];
    return this.rt.run('queue.claim', (c) => this.claimer.claim(c, options));
  }

  async ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('queue.ack', (c) => Promise.all(refs.map((r) => this.leases.ack(c, r))));
  }

  async release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('queue.release', (c) => Promise.all(refs.map((r) => this.leases.release(c, r, Math.max(0, Math.floor(r.delayMs ?? 0))))));
  }

  async extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('queue.extend', (c) => Promise.all(refs.map((r) => this.leases.extend(c, r, leaseMs))));
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (!(limit > 0)) return [];
    return this.rt.run('queue.reclaimExpired', (c) => this.reclaimer.pass(c, limit));
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.rt.run('queue.remove', async (c) => {
      const removed = await Promise.all(
        [...new Set(taskIds)].map(async (taskId) => {
          const [lease, messages] = await Promise.all([this.leases.remove(c, taskId), this.dropMessages(c, taskId)]);
          return lease || messages;
        }),
      );
      return removed.filter(Boolean).length;
    });
  }

  /** Deletes the task's ready and delayed messages by sequence (a filtered purge would reset the consumers' ack floors on 2.9). */
  private async dropMessages(c: NatsContext, taskId: string): Promise<boolean> {
    let dropped = false;
    for (const subject of taskDeliveries(c.names, encodeToken(taskId))) {
      for (let i = 0; i < 5; i++) {
        const sm = await c.jsm.direct.getMessage(c.names.queueStream, { last_by_subj: subject });
        if (!sm) break;
        const ok = await c.jsm.streams.deleteMessage(c.names.queueStream, sm.seq, false).catch((err: unknown) => {
          if (isAlreadyGone(err)) return false;
          throw err;
        });
        dropped ||= ok;
      }
    }
    return dropped;
  }

  async depth(): Promise<QueueDepth> {
    return this.rt.run('queue.depth', async (c) => {
      const total = { ...ZERO };
      for (const q of await this.infos(c)) for (const k of Object.keys(total) as (keyof QueueDepth)[]) total[k] += q.depth[k];
      return total;
    });
  }

  async queues(): Promise<QueueInfo[]> {
    return this.rt.run('queue.queues', async (c) => (await this.infos(c)).filter((q) => q.listed).map(({ listed: _listed, ...info }) => info));
  }

  async configure(queue: string, settings: Partial<QueueSettings>): Promise<QueueSettings> {
    return this.rt.run('queue.configure', async (c) => {
      const doc = await this.docs.update(c, queue, (d) => configureDoc(d, settings, c.clock.now()));
      // Resumed, raised or lifted limits may let a waiting claim through.
      c.wake.wake([this.docs.subjectsOf(c, queue).token]);
      return settingsOf(doc);
    });
  }

  /**
   * Every queue with its depth: ready from its level consumers (messages not yet acked), delayed
   * split by due time from the stream's subject list, leased and expired from the leases bucket.
   */
  private async infos(c: NatsContext): Promise<(QueueInfo & { listed: boolean })[]> {
    await this.claimer.acks.settled();
    const [docs, leased, delayed] = await Promise.all([this.docs.all(c), this.leasedByQueue(c), this.delayedByQueue(c)]);
    const out = await Promise.all(
      docs.map(async ({ value: doc }) => {
        const depth: QueueDepth = { ...ZERO, ...leased.get(doc.name) };
        const d = delayed.get(doc.name);
        depth.ready = (await this.readyOf(c, doc)) + (d?.due ?? 0);
        depth.delayed = d?.waiting ?? 0;
        const listed = doc.cf || depth.ready + depth.leased + depth.delayed > 0;
        return { name: doc.name, ...settingsOf(doc), depth, listed };
      }),
    );
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async readyOf(c: NatsContext, doc: QueueDoc): Promise<number> {
    const q = this.docs.subjectsOf(c, doc.name);
    const counts = await Promise.all(
      doc.lv.map((p) =>
        c.jsm.consumers.info(c.names.queueStream, q.levelConsumer(p)).then(
          // A pulled message stays counted until it is acked: NAKed ones are ready, claimed ones are acked.
          (ci) => ci.num_pending + ci.num_ack_pending,
          (err: unknown) => {
            if (isMissingResource(err)) return 0;
            throw err;
          },
        ),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  private async leasedByQueue(c: NatsContext): Promise<Map<string, { leased: number; expired: number }>> {
    const now = c.clock.now();
    const out = new Map<string, { leased: number; expired: number }>();
    await c.buckets.leases.scan('>', (e) => {
      const d = decodeLease(e);
      if (!d.ok || d.value.value.x !== undefined) return;
      const v = d.value.value;
      const q = out.get(v.q) ?? { leased: 0, expired: 0 };
      q.leased++;
      if (v.e <= now) q.expired++;
      out.set(v.q, q);
    });
    return out;
  }

  private async delayedByQueue(c: NatsContext): Promise<Map<string, { due: number; waiting: number }>> {
    const now = c.clock.now();
    const si = await c.jsm.streams.info(c.names.queueStream, { subjects_filter: `${c.names.prefix}.d.>` });
    const out = new Map<string, { due: number; waiting: number }>();
    for (const subject of Object.keys(si.state.subjects ?? {})) {
      const t = subject.split('.');
      const queue = t.length === 6 ? decodeToken(t[2]!) : null;
      const dueAt = parseInt(t[5] ?? '', 36);
      if (queue === null || decodePriority(t[3]!) === null || !Number.isFinite(dueAt)) continue;
      const q = out.get(queue) ?? { due: 0, waiting: 0 };
      if (dueAt <= now) q.due++;
      else q.waiting++;
      out.set(queue, q);
    }
    return out;
  }
}
