// Raw pull requests against the shared durable consumer. The client's fetch helpers impose a
// one-second minimum wait; a lease-sized contract needs `no_wait` and millisecond expiries, and
// a way to hand back (NAK) messages that arrive after the caller stopped listening.
import { createInbox, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { parseAckReply } from './nats-scan.js';

export interface PulledMsg {
  subject: string;
  /** Ack subject of this delivery: ack and NAK go here (the server matches by stream sequence). */
  reply: string;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
  streamSeq: number;
  deliveryCount: number;
}

export interface PullRequest {
  batch: number;
  /** Return at once with what is available. */
  noWait?: boolean;
  /** Otherwise wait up to this long for the batch (server-side). */
  expiresMs?: number;
  signal?: AbortSignal;
}

/** The consumer (or its stream) does not exist: the server has no responder for the pull. */
export class PullTargetMissingError extends Error {
  constructor(stream: string, consumer: string) {
    super(`consumer not found: ${stream}/${consumer}`);
    this.name = 'PullTargetMissingError';
  }
}

const NAK = new TextEncoder().encode('-NAK');

export function pull(nc: NatsConnection, stream: string, consumer: string, req: PullRequest): Promise<PulledMsg[]> {
  if (req.signal?.aborted) return Promise.resolve([]);
  const out: PulledMsg[] = [];
  const inbox = createInbox();
  const waitMs = req.noWait ? 0 : Math.max(1, Math.floor(req.expiresMs ?? 0));
  return new Promise<PulledMsg[]>((resolve, reject) => {
    let settled = false;
    let closed = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve(out);
      else reject(err);
    };
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(safety);
      req.signal?.removeEventListener('abort', onAbort);
      sub.unsubscribe();
    };
    // After an abort the server may still deliver to this request until it expires; keep
    // listening and hand such messages straight back so no delivery waits out an ack wait.
    const onAbort = () => settle();
    // If the connection drops the request dies with it and no status ever arrives.
    const safety = setTimeout(() => {
      settle();
      close();
    }, waitMs + 3_000);
    safety.unref();
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err) {
          settle(err);
          close();
          return;
        }
        const status = m.headers?.code ?? 0;
        if (!m.reply || status !== 0) {
          if (status === 100) return; // idle heartbeat
          if (status === 503) settle(new PullTargetMissingError(stream, consumer));
          else settle(); // 404 no messages, 408 expired, 409 (max waiting, consumer deleted, …)
          close();
          return;
        }
        const info = parseAckReply(m.reply);
        if (settled || !info) {
          m.respond(NAK);
          return;
        }
        out.push({ subject: m.subject, reply: m.reply, headers: m.headers, data: m.data, streamSeq: info.streamSeq, deliveryCount: info.deliveryCount });
        if (out.length >= req.batch) {
          settle();
          close();
        }
      },
    });
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const body = req.noWait ? { batch: req.batch, no_wait: true } : { batch: req.batch, expires: waitMs * 1e6 };
    try {
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(body), { reply: inbox });
    } catch (err) {
      settle(err);
      close();
    }
  });
}
