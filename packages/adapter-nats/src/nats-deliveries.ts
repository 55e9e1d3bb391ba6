// Delivery messages in the queue stream. A ready delivery is one message on
// `<p>.r.<queue>.<priority>.<task>` (its readiness in a header, its group in the body); a delayed
// one waits on `<p>.d.<queue>.<priority>.<task>.<due>` until its due time, claimable straight from
// there once due. The stream refuses a second message on one subject (discard_new_per_subject),
// and a claim acks the message once its lease is written: while leased, the lease entry is the
// delivery. A message the store cannot decode is acked away and reported as `record.quarantined`.
import { transitions } from '@baton/core/adapter';
import { createInbox, headers as makeHeaders } from '@nats-io/transport-node';
import { decodeText, encodeJson, isNullableString, isObject } from './nats-codec.js';
import { jsCode, JsCode } from './nats-errors.js';
import { publishEvent } from './nats-event-subjects.js';
import { decodePriority, decodeToken, encodeToken, type QueueSubjects } from './nats-names.js';
import type { PulledMsg } from './nats-pull.js';
import type { NatsContext } from './nats-runtime.js';

export const READY_HEADER = 'Baton-Ready';
const ACK = '+ACK';

export interface Delivery {
  taskId: string;
  queue: string;
  priority: number;
  group: string | null;
  /** When it became deliverable (backend ms): enqueue, release or reclaim time, or the due time. */
  readyAt: number;
  delayed: boolean;
  msg: PulledMsg;
}

export interface DeliveryItem {
  taskId: string;
  priority: number;
  group: string | null;
}

/** Publishes a delivery: ready at `readyAt`, or delayed until `dueAt`. False when the subject already holds one. */
export async function publishDelivery(c: NatsContext, q: QueueSubjects, item: DeliveryItem, readyAt: number, dueAt: number | null): Promise<boolean> {
  const task = encodeToken(item.taskId);
  const body = item.group === null ? new Uint8Array(0) : encodeJson({ g: item.group });
  try {
    if (dueAt !== null) await c.js.publish(`${q.delayed(item.priority, task)}.${dueAt.toString(36)}`, body);
    else {
      const h = makeHeaders();
      h.set(READY_HEADER, String(readyAt));
      await c.js.publish(q.ready(item.priority, task), body, { headers: h });
    }
    return true;
  } catch (err) {
    // The task already has a message on this subject: it is delivered already.
    if (jsCode(err) === JsCode.MaxMessagesPerSubject) return false;
    throw err;
  }
}

/** The delivery a pulled message carries, or why it cannot be read. */
export function decodeDelivery(c: NatsContext, m: PulledMsg): Delivery | { reason: string; raw: string } {
  const t = m.subject.split('.');
  const ready = t.length === 5 && t[1] === 'r';
  const delayed = t.length === 6 && t[1] === 'd';
  const raw = `${m.subject} ${decodeText(m.data)}`;
  if (t[0] !== c.names.prefix || !(ready || delayed)) return { reason: 'not a delivery subject', raw };
  const queue = decodeToken(t[2]!);
  const priority = decodePriority(t[3]!);
  const taskId = decodeToken(t[4]!);
  if (queue === null || priority === null || taskId === null) return { reason: 'undecodable subject tokens', raw };
  let group: string | null = null;
  if (m.data.length > 0) {
    let body: unknown;
    try {
      body = JSON.parse(decodeText(m.data));
    } catch (err) {
      return { reason: `body is not JSON: ${(err as Error).message}`, raw };
    }
    if (!isObject(body) || !isNullableString(body['g'])) return { reason: 'body of an unexpected shape', raw };
    group = body['g'];
  }
  const readyAt = delayed ? parseInt(t[5]!, 36) : Number(m.headers?.get(READY_HEADER) ?? NaN);
  if (!Number.isFinite(readyAt)) return { reason: 'no readiness time', raw };
  return { taskId, queue, priority, group, readyAt, delayed, msg: m };
}

export function isDelivery(d: Delivery | { reason: string }): d is Delivery {
  return 'msg' in d;
}

/**
 * Acks sent with a reply subject on one shared inbox: the server answers once the ack is
 * processed (the message is gone), so `settled()` lets a depth read right after a claim see it —
 * without a request object, timer and error per ack.
 */
export class Acks {
  /** Token → when the ack was sent (ms). */
  private readonly pending = new Map<number, number>();
  private next = 0;
  private inbox: string | null = null;

  constructor(private readonly timeoutMs: () => number) {}

  /** Removes a message for good (fire and forget; a lost ack only means the message returns after the ack wait and is dropped then). */
  ack(c: NatsContext, m: PulledMsg): void {
    const inbox = this.inboxOf(c);
    const token = ++this.next;
    this.pending.set(token, Date.now());
    try {
      c.nc.publish(m.reply, ACK, { reply: `${inbox}.${token}` });
    } catch {
      this.pending.delete(token);
    }
  }

  /** Resolves once every ack sent so far was answered, or given up on after the request timeout. */
  async settled(): Promise<void> {
    const last = this.next;
    for (;;) {
      const giveUp = Date.now() - this.timeoutMs();
      let waiting = false;
      for (const [token, sentAt] of this.pending) {
        if (sentAt < giveUp) this.pending.delete(token);
        else if (token <= last) waiting = true;
      }
      if (!waiting) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private inboxOf(c: NatsContext): string {
    if (this.inbox === null) {
      const inbox = createInbox();
      c.nc.subscribe(`${inbox}.*`, {
        callback: (_err, msg) => {
          this.pending.delete(Number(msg.subject.slice(inbox.length + 1)));
        },
      });
      this.inbox = inbox;
    }
    return this.inbox;
  }
}

/** Removes a message for good and waits for the server to confirm (or give up). */
export function ackMessage(c: NatsContext, m: PulledMsg): Promise<unknown> {
  return c.nc.request(m.reply, ACK, { timeout: c.requestTimeoutMs }).catch(() => undefined);
}

/** Hands a pulled message back: claimable again after `delayMs` (at the front of its consumer). */
export function nakMessage(c: NatsContext, m: PulledMsg, delayMs = 0): void {
  try {
    c.nc.publish(m.reply, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.ceil(delayMs) * 1e6 })}` : '-NAK');
  } catch {
    // Connection gone: the server redelivers after its ack wait.
  }
}

/** Sets aside a message the store cannot decode: acked away, reported once as `record.quarantined` (deduplicated by its sequence). */
export async function quarantineMessage(c: NatsContext, m: PulledMsg, reason: string, raw: string): Promise<void> {
  c.logger.error({ subject: m.subject, seq: m.streamSeq, reason }, 'NATS: a delivery message cannot be decoded; it is set aside (never handed out)');
  const now = c.clock.now();
  const event = transitions.quarantinedEvent('delivery', m.subject, reason, raw, `quarantine-delivery-${c.names.prefix}-${m.streamSeq}`, now);
  await publishEvent(c, event).catch((err: unknown) => c.logger.warn({ err }, 'NATS: could not report a quarantined delivery'));
  await ackMessage(c, m);
}
