// The claim: which ready deliveries one claim takes, inside the caller's BEGIN IMMEDIATE
// transaction. Each listed queue is read from the head of the claim index (priority, readiness,
// enqueue order) after its settings are applied: a paused queue gives nothing; `concurrency`
// and `groupConcurrency` count the queue's leased deliveries now (so every claimer of the file
// is counted, and a slot is free again the moment a lease ends); the rate limit's bucket is read
// and written back in the same transaction. Claims of the file are serialised by its write
// lock, so every claim takes the best deliveries left at its moment, across every process.
import type { Delivery, RateLimit } from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';
import type { SqliteEventLog } from './sqlite-event-log.js';
import { available, take, type BucketState } from './sqlite-rate-bucket.js';
import { describeType, rawText } from './sqlite-records.js';

export interface QueueRow {
  name: string;
  paused: number;
  concurrency: number | null;
  rate_max: number | null;
  rate_per_ms: number | null;
  rate_origin: number;
  rate_tat: number;
  group_concurrency: number | null;
}

interface ReadyRow {
  seq: number;
  task_id: unknown;
  priority: unknown;
  ready_at: unknown;
  group_key: unknown;
}

interface Candidate {
  seq: number;
  taskId: string;
  priority: number;
  readyAt: number;
  queue: string;
}

/** Whatever is wrong with a stored delivery, or null when it can be handed out. */
function defect(row: ReadyRow): string | null {
  if (typeof row.task_id !== 'string' || row.task_id.length === 0) return `task id stored as ${describeType(row.task_id)}, not text`;
  if (typeof row.priority !== 'number' || !Number.isInteger(row.priority)) return `priority stored as ${describeType(row.priority)}, not an integer`;
  if (typeof row.ready_at !== 'number') return `ready_at stored as ${describeType(row.ready_at)}, not a number`;
  if (row.group_key !== null && typeof row.group_key !== 'string') return `group stored as ${describeType(row.group_key)}, not text`;
  return null;
}

/** Highest priority first, then oldest readiness, then enqueue order. */
const before = (a: Candidate, b: Candidate): number => b.priority - a.priority || a.readyAt - b.readyAt || a.seq - b.seq;

/** Most passes over one queue's head in a claim (each sets aside a bad delivery or caps a group). */
const MAX_PASSES = 64;

export class Claimer {
  private readonly settings: SqliteStatement;
  private readonly ready: SqliteStatement;
  private readonly readySkipping: SqliteStatement;
  private readonly leasedIn: SqliteStatement;
  private readonly leasedByGroup: SqliteStatement;
  private readonly lease: SqliteStatement;
  private readonly drop: SqliteStatement;
  private readonly saveBucket: SqliteStatement;

  constructor(
    private readonly ctx: SqliteContext,
    private readonly events: SqliteEventLog,
  ) {
    const db = ctx.db;
    const head = 'SELECT seq, task_id, priority, ready_at, group_key FROM baton_deliveries WHERE queue = ? AND lease_id IS NULL AND ready_at <= ?';
    const order = 'ORDER BY priority DESC, ready_at, seq LIMIT ?';
    this.settings = db.prepare('SELECT * FROM baton_queues WHERE name = ?');
    this.ready = db.prepare(`${head} ${order}`);
    this.readySkipping = db.prepare(
      `${head} AND (group_key IS NULL OR group_key NOT IN (SELECT value FROM json_each(?))) AND seq NOT IN (SELECT value FROM json_each(?)) ${order}`,
    );
    this.leasedIn = db.prepare('SELECT count(*) FROM baton_deliveries WHERE queue = ? AND lease_id IS NOT NULL').pluck();
    this.leasedByGroup = db.prepare('SELECT group_key AS g, count(*) AS n FROM baton_deliveries WHERE queue = ? AND lease_id IS NOT NULL AND group_key IS NOT NULL GROUP BY group_key');
    this.lease = db.prepare('UPDATE baton_deliveries SET lease_id = ?, lease_expires_at = ? WHERE seq = ?');
    this.drop = db.prepare('DELETE FROM baton_deliveries WHERE seq = ?');
    this.saveBucket = db.prepare('UPDATE baton_queues SET rate_origin = ?, rate_tat = ? WHERE name = ?');
  }

  /** Leases up to `limit` of the best deliveries the listed queues may hand out now. Inside a write transaction. */
  claimIn(queues: readonly string[], limit: number, leaseMs: number): Delivery[] {
    const now = this.ctx.now();
    let picked: Candidate[] = [];
    const buckets: { queue: string; limit: RateLimit; bucket: BucketState }[] = [];
    for (const queue of queues) {
      const settings = this.settings.get(queue) as QueueRow | undefined;
      const got = settings === undefined ? this.head(queue, now, limit) : this.limited(settings, now, limit, buckets);
      picked = picked.length === 0 ? got : picked.concat(got);
    }
    if (queues.length > 1) picked = picked.sort(before).slice(0, limit);
    const expiresAt = now + leaseMs;
    const out = new Array<Delivery>(picked.length);
    for (let i = 0; i < picked.length; i++) {
      const c = picked[i]!;
      const leaseId = this.ctx.nextLeaseId();
      this.lease.run(leaseId, expiresAt, c.seq);
      out[i] = { taskId: c.taskId, leaseId };
    }
    for (const b of buckets) {
      const spent = picked.reduce((n, c) => (c.queue === b.queue ? n + 1 : n), 0);
      if (spent === 0) continue;
      for (let i = 0; i < spent; i++) take(b.limit, b.bucket, now);
      this.saveBucket.run(b.bucket.origin, b.bucket.tat, b.queue);
    }
    return out;
  }

  /** The candidates of a configured queue within its pause, concurrency, rate and group limits. */
  private limited(s: QueueRow, now: number, want: number, buckets: { queue: string; limit: RateLimit; bucket: BucketState }[]): Candidate[] {
    if (s.paused !== 0) return [];
    let room = want;
    if (s.concurrency !== null) room = Math.min(room, s.concurrency - (this.leasedIn.get(s.name) as number));
    if (room > 0 && s.rate_max !== null && s.rate_per_ms !== null) {
      const limit = { max: s.rate_max, perMs: s.rate_per_ms };
      const bucket = { origin: s.rate_origin, tat: s.rate_tat };
      room = available(limit, bucket, now, room);
      buckets.push({ queue: s.name, limit, bucket });
    }
    if (room <= 0) return [];
    return s.group_concurrency === null ? this.head(s.name, now, room) : this.grouped(s.name, s.group_concurrency, now, room);
  }

  /** The first `want` ready deliveries of a queue; bad ones met on the way are set aside. */
  private head(queue: string, now: number, want: number): Candidate[] {
    for (let pass = 0; ; pass++) {
      const rows = this.ready.all(queue, now, want) as ReadyRow[];
      const out: Candidate[] = [];
      let bad = false;
      for (const row of rows) {
        if (this.setAsideIfBad(row)) bad = true;
        else if (!bad) out.push(this.candidate(row, queue));
      }
      // A bad row was dropped: read the head again, so the page is full of good ones.
      if (!bad || pass >= MAX_PASSES) return out;
    }
  }

  /**
   * The first `want` ready deliveries whose group is under `cap` leased, counting what this claim
   * takes. Rows of groups already at their cap are excluded in SQL; a group that reaches it during
   * the claim is excluded on the next pass.
   */
  private grouped(queue: string, cap: number, now: number, want: number): Candidate[] {
    const leased = new Map<string, number>();
    for (const r of this.leasedByGroup.all(queue) as { g: string; n: number }[]) leased.set(r.g, r.n);
    const capped = [...leased].filter(([, n]) => n >= cap).map(([g]) => g);
    const out: Candidate[] = [];
    for (let pass = 0; out.length < want && pass < MAX_PASSES; pass++) {
      const ask = want - out.length;
      const rows = this.readySkipping.all(queue, now, JSON.stringify(capped), JSON.stringify(out.map((c) => c.seq)), ask) as ReadyRow[];
      let skipped = false;
      for (const row of rows) {
        if (this.setAsideIfBad(row)) {
          skipped = true;
          continue;
        }
        const group = row.group_key as string | null;
        if (group !== null) {
          const n = leased.get(group) ?? 0;
          if (n >= cap) {
            if (!capped.includes(group)) capped.push(group);
            skipped = true;
            continue;
          }
          leased.set(group, n + 1);
        }
        out.push(this.candidate(row, queue));
      }
      if (!skipped || rows.length < ask) break;
    }
    return out;
  }

  private candidate(row: ReadyRow, queue: string): Candidate {
    return { seq: row.seq, taskId: row.task_id as string, priority: row.priority as number, readyAt: row.ready_at as number, queue };
  }

  /** A delivery that cannot be decoded leaves the queue with a `record.quarantined` event; true when `row` was one. */
  private setAsideIfBad(row: ReadyRow): boolean {
    const reason = defect(row);
    if (reason === null) return false;
    this.drop.run(row.seq);
    const raw = JSON.stringify({ seq: row.seq, task_id: rawText(row.task_id, 1024), priority: rawText(row.priority, 256), ready_at: rawText(row.ready_at, 256), group: rawText(row.group_key, 1024) });
    this.events.quarantinedIn('delivery', String(row.seq), reason, raw);
    this.ctx.logger.warn({ seq: row.seq, reason }, 'a delivery that cannot be decoded was set aside');
    return true;
  }
}
