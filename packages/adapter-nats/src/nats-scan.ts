// Finite reads of a stream through a short-lived ephemeral push consumer: the server streams
// every matching message (or, for KV buckets, the last value per key) up to the stream's last
// sequence when the scan began. This is how list-style port calls are paid for on JetStream,
// which has no secondary indexes.
import { BackendUnavailableError } from '@baton/core/adapter';
import type { JetStreamManager } from '@nats-io/jetstream';
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface AckReplyInfo {
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

export interface ScanDeps {
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
  const lastSeq = (await deps.jsm.streams.info(stream)).state.last_seq;
  const start = options.start;
  if (lastSeq === 0 || (start.policy === 'by_start_sequence' && start.seq > lastSeq)) return;
  await new Scan(deps, stream, options, lastSeq).run();
}

/** One scan: its subscription, its consumer and the two timers that end it (done, or stalled). */
class Scan {
  private finished = false;
  private consumer: string | null = null;
  private stallTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private lastDeliverySeq = 0;
  private sub: Subscription | null = null;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | null = null;

  constructor(
    private readonly deps: ScanDeps,
    private readonly stream: string,
    private readonly options: ScanOptions,
    private readonly lastSeq: number,
  ) {}

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      const inbox = createInbox();
      this.sub = this.deps.nc.subscribe(inbox, { callback: (err, m) => this.onMessage(err, m) });
      this.arm();
      this.deps.jsm.consumers.add(this.stream, this.config(inbox)).then(
        (ci) => {
          this.consumer = ci.name;
          if (this.finished) this.dropConsumer();
          else if (this.drained(ci)) this.finish();
        },
        (err: unknown) => this.finish(err),
      );
    });
  }

  private config(inbox: string): Parameters<JetStreamManager['consumers']['add']>[1] {
    const start = this.options.start;
    return {
      deliver_subject: inbox,
      ack_policy: 'none',
      filter_subject: this.options.filter,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: 30_000_000_000,
      headers_only: this.options.headersOnly === true,
      deliver_policy: start.policy,
      ...(start.policy === 'by_start_sequence' ? { opt_start_seq: Math.max(1, start.seq) } : {}),
      ...(start.policy === 'by_start_time' ? { opt_start_time: new Date(start.time).toISOString() } : {}),
    } as Parameters<JetStreamManager['consumers']['add']>[1];
  }

  private onMessage(err: Error | null, m: Msg): void {
    if (this.finished) return;
    if (err) return this.finish(err);
    if (!m.reply) return; // idle heartbeat or flow-control status: not data
    const info = parseAckReply(m.reply);
    if (!info) return;
    // Deliveries come in stream order, so a later write means the snapshot is through.
    if (info.streamSeq > this.lastSeq) return this.finish();
    this.arm();
    this.lastDeliverySeq = Math.max(this.lastDeliverySeq, info.deliverySeq);
    let keepGoing: boolean;
    try {
      keepGoing = this.options.onMessage({ subject: m.subject, seq: info.streamSeq, time: info.timestampMs, data: m.data, headers: m.headers }) !== false;
    } catch (e) {
      return this.finish(e);
    }
    if (!keepGoing || info.pending === 0 || info.streamSeq === this.lastSeq) this.finish();
  }

  /**
   * Nothing pending and everything the consumer sent received: the read is complete. This ends a
   * read whose last snapshot message was deleted before delivery (so no delivery says "0 pending"
   * and none comes after the snapshot's last sequence).
   */
  private drained(ci: { num_pending: number; delivered: { consumer_seq: number } }): boolean {
    return ci.num_pending === 0 && ci.delivered.consumer_seq <= this.lastDeliverySeq;
  }

  private probe(): void {
    const name = this.consumer;
    if (this.finished || name === null) return;
    this.deps.jsm.consumers.info(this.stream, name).then(
      (ci) => {
        if (this.finished) return;
        if (this.drained(ci)) this.finish();
        else this.armProbe();
      },
      () => this.armProbe(),
    );
  }

  private armProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => this.probe(), PROBE_AFTER_MS);
    this.probeTimer.unref();
  }

  private arm(): void {
    const idleMs = this.options.idleTimeoutMs ?? 10_000;
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(
      () => this.finish(new BackendUnavailableError(`NATS: reading stream ${this.stream} stalled for ${idleMs} ms; the server may be restarting. Retry once it is back.`)),
      idleMs,
    );
    this.stallTimer.unref();
    this.armProbe();
  }

  private finish(err?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stallTimer);
    clearTimeout(this.probeTimer);
    this.sub?.unsubscribe();
    this.dropConsumer();
    if (err === undefined) this.settle?.resolve();
    else this.settle?.reject(err);
  }

  private dropConsumer(): void {
    if (this.consumer !== null) this.deps.jsm.consumers.delete(this.stream, this.consumer).catch(() => undefined);
  }
}
