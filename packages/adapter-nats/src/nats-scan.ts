// Finite reads of a stream through a short-lived ephemeral push consumer: the server streams
// every matching message (or, for KV buckets, the last value per key) up to the stream's last
// sequence when the scan began. This is how list-style port calls (scans) are paid for on
// JetStream, which has no secondary indexes.
import { BackendUnavailableError } from '@baton/core';
import type { JetStreamManager } from '@nats-io/jetstream';
import { createInbox, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';

export interface AckReplyInfo {
  stream: string;
  consumer: string;
  deliveryCount: number;
  streamSeq: number;
  deliverySeq: number;
  timestampMs: number;
  pending: number;
}

/** Parses `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>` (and the 2.10+ form with domain and account). */
export function parseAckReply(reply: string): AckReplyInfo | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  const base = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (base < 0) return null;
  return {
    stream: t[base] ?? '',
    consumer: t[base + 1] ?? '',
    deliveryCount: Number(t[base + 2]),
    streamSeq: Number(t[base + 3]),
    deliverySeq: Number(t[base + 4]),
    timestampMs: Math.floor(Number(t[base + 5]) / 1e6),
    pending: Number(t[base + 6]),
  };
}

export interface ScannedMsg {
  subject: string;
  seq: number;
  /** Server store time, epoch ms. */
  time: number;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

export type ScanStart =
  | { policy: 'last_per_subject' }
  | { policy: 'all' }
  | { policy: 'by_start_sequence'; seq: number }
  | { policy: 'by_start_time'; time: number };

export interface ScanOptions {
  filter: string;
  start: ScanStart;
  headersOnly?: boolean;
  /** Return false to stop early. */
  onMessage: (msg: ScannedMsg) => boolean | void;
  /** Fail when the server goes quiet this long mid-scan. @default 10_000 */
  idleTimeoutMs?: number;
}

interface ScanDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/** Quiet this long mid-scan, the consumer is asked whether anything is left to deliver. */
const PROBE_AFTER_MS = 200;

/**
 * Reads the matching messages with sequence up to the stream's last sequence at the call. Writes
 * after that point are not part of the read: on a busy bucket a consumer that followed them would
 * never end. A key rewritten mid-scan may be missing (its old value is gone, its new one is later
 * than the snapshot); callers that act on an entry re-check it by revision anyway.
 */
export async function scanStream(deps: ScanDeps, stream: string, options: ScanOptions): Promise<void> {
  const { nc, jsm } = deps;
  const lastSeq = (await jsm.streams.info(stream)).state.last_seq;
  const start = options.start;
  if (lastSeq === 0 || (start.policy === 'by_start_sequence' && start.seq > lastSeq)) return;
  const idleMs = options.idleTimeoutMs ?? 10_000;
  const inbox = createInbox();
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let consumerName: string | null = null;
    let stallTimer: NodeJS.Timeout | undefined;
    let probeTimer: NodeJS.Timeout | undefined;
    let lastDeliverySeq = 0;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(stallTimer);
      clearTimeout(probeTimer);
      sub.unsubscribe();
      if (consumerName) jsm.consumers.delete(stream, consumerName).catch(() => undefined);
      if (err === undefined) resolve();
      else reject(err);
    };
    // Nothing pending and everything the consumer sent received: the read is complete. This ends
    // a read whose last snapshot message was deleted before delivery (so no delivery says
    // "0 pending" and none comes after the snapshot's last sequence).
    const drained = (ci: { num_pending: number; delivered: { consumer_seq: number } }) => ci.num_pending === 0 && ci.delivered.consumer_seq <= lastDeliverySeq;
    const probe = () => {
      const name = consumerName;
      if (finished || name === null) return;
      jsm.consumers.info(stream, name).then(
        (ci) => {
          if (finished) return;
          if (drained(ci)) finish();
          else armProbe();
        },
        () => armProbe(),
      );
    };
    const armProbe = () => {
      clearTimeout(probeTimer);
      probeTimer = setTimeout(probe, PROBE_AFTER_MS);
      probeTimer.unref();
    };
    const arm = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(
        () => finish(new BackendUnavailableError(`NATS: reading stream ${stream} stalled for ${idleMs} ms; the server may be restarting. Retry once it is back.`)),
        idleMs,
      );
      stallTimer.unref();
      armProbe();
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (finished) return;
        if (err) return finish(err);
        if (!m.reply) return; // idle heartbeat or flow-control status: not data
        const info = parseAckReply(m.reply);
        if (!info) return;
        // Deliveries come in stream order, so a later write means the snapshot is through.
        if (info.streamSeq > lastSeq) return finish();
        arm();
        lastDeliverySeq = Math.max(lastDeliverySeq, info.deliverySeq);
        let keepGoing: boolean;
        try {
          keepGoing = options.onMessage({ subject: m.subject, seq: info.streamSeq, time: info.timestampMs, data: m.data, headers: m.headers }) !== false;
        } catch (e) {
          return finish(e);
        }
        if (!keepGoing || info.pending === 0 || info.streamSeq === lastSeq) finish();
      },
    });
    const config = {
      deliver_subject: inbox,
      ack_policy: 'none' as const,
      filter_subject: options.filter,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: 30_000_000_000,
      headers_only: options.headersOnly === true,
      deliver_policy: start.policy,
      ...(start.policy === 'by_start_sequence' ? { opt_start_seq: Math.max(1, start.seq) } : {}),
      ...(start.policy === 'by_start_time' ? { opt_start_time: new Date(start.time).toISOString() } : {}),
    };
    arm();
    jsm.consumers.add(stream, config as Parameters<JetStreamManager['consumers']['add']>[1]).then(
      (ci) => {
        consumerName = ci.name;
        if (finished) {
          jsm.consumers.delete(stream, ci.name).catch(() => undefined);
          return;
        }
        if (drained(ci)) finish();
      },
      (e: unknown) => finish(e),
    );
  });
}
