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

/** Catch-up rounds of a last_per_subject read past its snapshot (see scanStream). */
const CATCH_UP_ROUNDS = 3;

/**
 * Reads the matching messages with sequence up to the stream's last sequence at the call. Writes
 * after that point are not part of the read: on a busy bucket a consumer that followed them would
 * never end.
 *
 * A `last_per_subject` read is of a KV bucket with history 1, where a rewrite deletes the key's
 * previous message: a key rewritten before the consumer reached it has its only message past the
 * snapshot. Such a read therefore catches up: past the snapshot it keeps delivering keys it has not
 * delivered yet (never one twice) up to the stream's last sequence when it got there, for a few
 * rounds. A key is then missed only when rewritten in each of those rounds before it was reached.
 */
export async function scanStream(deps: ScanDeps, stream: string, options: ScanOptions): Promise<void> {
  const lastSeq = (await deps.jsm.streams.info(stream)).state.last_seq;
  const start = options.start;
  if (lastSeq === 0 || (start.policy === 'by_start_sequence' && start.seq > lastSeq)) return;
  await new Scan(deps, stream, options, lastSeq, start.policy === 'last_per_subject').run();
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
  /** Delivered subjects, kept only by a catching-up read (null otherwise). */
  private readonly delivered: Set<string> | null;
  /** Catch-up rounds left; the current round reads up to `lastSeq` (null while it is being fetched). */
  private roundsLeft: number;
  private lastSeq: number | null;
  private highestSeq = 0;

  constructor(
    private readonly deps: ScanDeps,
    private readonly stream: string,
    private readonly options: ScanOptions,
    snapshotSeq: number,
    catchUp: boolean,
  ) {
    this.lastSeq = snapshotSeq;
    this.delivered = catchUp ? new Set() : null;
    this.roundsLeft = catchUp ? CATCH_UP_ROUNDS : 0;
  }

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
    this.arm();
    this.lastDeliverySeq = Math.max(this.lastDeliverySeq, info.deliverySeq);
    // Deliveries come in stream order, so a later write means this round is through.
    if (this.lastSeq !== null && info.streamSeq > this.lastSeq && !this.nextRound()) return this.finish();
    this.highestSeq = Math.max(this.highestSeq, info.streamSeq);
    const fresh = this.delivered === null || !this.delivered.has(m.subject);
    let keepGoing = true;
    if (fresh) {
      this.delivered?.add(m.subject);
      try {
        keepGoing = this.options.onMessage({ subject: m.subject, seq: info.streamSeq, time: info.timestampMs, data: m.data, headers: m.headers }) !== false;
      } catch (e) {
        return this.finish(e);
      }
    }
    if (!keepGoing || info.pending === 0) return this.finish();
    if (info.streamSeq === this.lastSeq && !this.nextRound()) this.finish();
  }

  /**
   * Starts the next catch-up round, reading up to the stream's newest sequence now; false when no
   * round is left. Deliveries that arrive while that is fetched are taken (they are newer values).
   */
  private nextRound(): boolean {
    if (this.roundsLeft === 0) return false;
    this.roundsLeft -= 1;
    this.lastSeq = null;
    this.deps.jsm.streams.info(this.stream).then(
      (si) => {
        if (this.finished) return;
        this.lastSeq = si.state.last_seq;
        if (this.highestSeq >= this.lastSeq) this.finish();
      },
      (e: unknown) => this.finish(e),
    );
    return true;
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
