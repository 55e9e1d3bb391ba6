// Queue on MySQL: one `deliveries` row per task id with a live delivery. A claim is one
// READ COMMITTED transaction: it locks the listed queues' settings rows (so fleet-wide limits
// are counted by one claimer at a time), counts leased deliveries per queue and per group,
// reads the token bucket, then takes the best ready rows of each queue with
// FOR UPDATE SKIP LOCKED — concurrent claimers skip each other's rows instead of waiting — and
// leases them. All times are the server's. Without a cross-process wake (pushWake: false), a
// waiting claim polls, and is woken at once by writes of this process.
import {
  DEFAULT_QUEUE_SETTINGS,
  newId,
  transitions,
  type ClaimOptions,
  type Delivery,
  type LeaseRef,
  type Queue,
  type QueueDepth,
  type QueueInfo,
  type QueueItem,
  type QueueSettings,
  type WriteOptions,
} from '@baton/core/adapter';
import { NOW_MS, list, num, numOrNull, str, type Db, type Row, type Sql } from './mysql-db.js';
import { insertEvents } from './mysql-event-log.js';
import { available, reconfigure, take, type Bucket } from './rate-bucket.js';
import { Waker } from './waker.js';

/** How long a waiting claim sleeps between polls when nothing in this process wakes it. */
const POLL_MS = 50;
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Candidate {
  raw: Buffer;
  queue: string;
  negPriority: number;
  readyAt: number;
  seq: number;
  group: string | null;
}

export class MysqlQueue implements Queue {
  /** Lease ids: this backend's random prefix plus a counter — unique, and cheaper than a UUID per claim. */
  private readonly leasePrefix = newId();
  private leaseCount = 0;
  readonly waker = new Waker();

  constructor(private readonly db: Db) {}

  async enqueue(items: QueueItem[], options?: WriteOptions): Promise<void> {
    if (items.length === 0) return;
    await this.db.run('queue.enqueue', (sql) => this.enqueueIn(sql, items), options?.transaction);
  }

  /** A task that already has a live delivery keeps it: the duplicate row is a no-op. */
  async enqueueIn(sql: Sql, items: readonly QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    await sql.exec(
      `INSERT INTO ${this.db.t('deliveries')} (task_id, queue, neg_priority, grp, status, ready_at) VALUES ${items.map(() => `(?, ?, ?, ?, 0, ${NOW_MS} + ?)`).join(', ')}
       ON DUPLICATE KEY UPDATE seq = seq`,
      items.flatMap((i) => [i.taskId, i.queue, -i.priority, i.group, Math.max(0, i.delayMs ?? 0)]),
    );
    this.wakeAfter(sql, items.map((i) => i.delayMs ?? 0));
  }

  /** After commit: wakes waiting claims now, and again when each delayed delivery comes due. */
  private wakeAfter(sql: Sql, delaysMs: readonly number[]): void {
    sql.afterCommit(() => {
      this.waker.wake();
      for (const ms of new Set(delaysMs)) if (ms > 0) this.waker.wakeIn(ms);
    });
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    return this.waitFor(options, (sql) => this.claimIn(sql, options.queues, options.limit, options.leaseMs), []);
  }

  /** Runs `attempt` in a transaction until it yields something or the claim's wait is over. */
  async waitFor<T extends unknown[]>(options: ClaimOptions, attempt: (sql: Sql) => Promise<T>, none: T): Promise<T> {
    if (options.limit <= 0) return none;
    const deadline = Date.now() + Math.max(0, options.waitMs);
    for (;;) {
      const got = await this.db.run('queue.claim', attempt);
      if (got.length > 0) return got;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || options.signal?.aborted) return none;
      await this.waker.wait(Math.min(remaining, POLL_MS), options.signal);
      // Closed while waiting: the wait ends empty, as on memory.
      if (this.db.isClosed) return none;
    }
  }

  /** Leases up to `limit` of the best deliveries the listed queues may hand out now, in claim order. */
  async claimIn(sql: Sql, queues: readonly string[], limit: number, leaseMs: number): Promise<Delivery[]> {
    const d = this.db.t('deliveries');
    const now = await sql.now();
    const settings = new Map((await sql.rows(`SELECT * FROM ${this.db.t('queues')} WHERE name IN ${list(queues.length)} FOR UPDATE`, queues)).map((r) => [str(r.name), r]));
    const budget = new Map<string, number>();
    const groupCap = new Map<string, { cap: number; leased: Map<string, number> }>();
    const buckets = new Map<string, Bucket>();
    const candidates: Candidate[] = [];
    for (const queue of queues) {
      const s = settings.get(queue);
      if (s !== undefined && num(s.paused) === 1) continue;
      let room = limit;
      const concurrency = numOrNull(s?.concurrency);
      if (concurrency !== null) {
        const [c] = await sql.rows(`SELECT COUNT(*) AS n FROM ${d} WHERE queue = ? AND status = 1`, [queue]);
        room = Math.min(room, concurrency - num(c?.n ?? 0));
      }
      if (s !== undefined && s.rate_max !== null) {
        const bucket: Bucket = { max: num(s.rate_max), perMs: num(s.rate_per_ms), origin: num(s.rate_origin), tat: num(s.rate_tat) };
        buckets.set(queue, bucket);
        room = Math.min(room, available(bucket, now, room));
      }
      if (room <= 0) continue;
      budget.set(queue, room);
      let fetch = room;
      let exclude: string[] = [];
      const cap = numOrNull(s?.group_concurrency);
      if (cap !== null) {
        const counts = await sql.rows(`SELECT grp, COUNT(*) AS n FROM ${d} WHERE queue = ? AND status = 1 AND grp IS NOT NULL GROUP BY grp`, [queue]);
        const leased = new Map(counts.map((r) => [str(r.grp), num(r.n)]));
        groupCap.set(queue, { cap, leased });
        // Groups at their cap are left out of the scan, so they never crowd out the others…
        exclude = [...leased].filter(([, n]) => n >= cap).map(([g]) => g);
        // …and a few more rows are read than needed, for the ones a group's remaining slots refuse.
        fetch = Math.min(1000, room * 4);
      }
      const rows = await sql.rows(
        `SELECT task_id, neg_priority, ready_at, seq, grp FROM ${d}
         WHERE queue = ? AND status = 0 AND ready_at <= ? ${exclude.length > 0 ? `AND (grp IS NULL OR grp NOT IN ${list(exclude.length)})` : ''}
         ORDER BY neg_priority, ready_at, seq LIMIT ? FOR UPDATE SKIP LOCKED`,
        [queue, now, ...exclude, fetch],
      );
      for (const r of rows) {
        const raw = Buffer.isBuffer(r.task_id) ? r.task_id : Buffer.from(String(r.task_id), 'utf8');
        candidates.push({ raw, queue, negPriority: num(r.neg_priority), readyAt: num(r.ready_at), seq: num(r.seq), group: r.grp === null ? null : str(r.grp) });
      }
    }
    candidates.sort((a, b) => a.negPriority - b.negPriority || a.readyAt - b.readyAt || a.seq - b.seq);
    const chosen: { taskId: string; leaseId: string; queue: string }[] = [];
    const bad: Candidate[] = [];
    for (const c of candidates) {
      if (chosen.length >= limit) break;
      const taskId = decodeId(c.raw);
      if (taskId === null) {
        bad.push(c);
        continue;
      }
      const room = budget.get(c.queue) ?? 0;
      if (room <= 0) continue;
      const caps = groupCap.get(c.queue);
      if (caps !== undefined && c.group !== null) {
        const n = caps.leased.get(c.group) ?? 0;
        if (n >= caps.cap) continue;
        caps.leased.set(c.group, n + 1);
      }
      budget.set(c.queue, room - 1);
      chosen.push({ taskId, leaseId: `${this.leasePrefix}.${(++this.leaseCount).toString(36)}`, queue: c.queue });
    }
    if (bad.length > 0) await this.quarantine(sql, bad, now);
    if (chosen.length === 0) return [];
    await sql.exec(
      `UPDATE ${d} SET status = 1, lease_expires_at = ?, lease_id = CASE task_id ${chosen.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE task_id IN ${list(chosen.length)}`,
      [now + leaseMs, ...chosen.flatMap((c) => [c.taskId, c.leaseId]), ...chosen.map((c) => c.taskId)],
    );
    for (const [queue, bucket] of buckets) {
      const taken = chosen.filter((c) => c.queue === queue).length;
      if (taken === 0) continue;
      for (let i = 0; i < taken; i++) take(bucket, now);
      await sql.exec(`UPDATE ${this.db.t('queues')} SET rate_origin = ?, rate_tat = ? WHERE name = ?`, [bucket.origin, bucket.tat, queue]);
    }
    return chosen.map(({ taskId, leaseId }) => ({ taskId, leaseId }));
  }

  /** Sets undecodable deliveries aside (status 2: out of the ready set and of depth) with a `record.quarantined` event each. */
  private async quarantine(sql: Sql, bad: readonly Candidate[], now: number): Promise<void> {
    await sql.exec(`UPDATE ${this.db.t('deliveries')} SET status = 2 WHERE task_id IN ${list(bad.length)}`, bad.map((c) => c.raw));
    await insertEvents(
      this.db,
      sql,
      bad.map((c) => transitions.quarantinedEvent('delivery', `0x${c.raw.toString('hex').slice(0, 200)}`, 'the task id is not valid UTF-8 text', c.raw.toString('latin1'), newId(), now)),
    );
  }

  ack(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.db.run('queue.ack', (sql) => this.ackIn(sql, refs));
  }

  async ackIn(sql: Sql, refs: readonly LeaseRef[]): Promise<boolean[]> {
    const held = await this.held(sql, refs);
    const ids = refs.filter((_, i) => held[i]).map((r) => r.taskId);
    if (ids.length > 0) {
      await sql.exec(`DELETE FROM ${this.db.t('deliveries')} WHERE task_id IN ${list(ids.length)}`, ids);
      // A freed slot may let a waiting claim of a capped queue through.
      this.wakeAfter(sql, []);
    }
    return held;
  }

  release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.db.run('queue.release', (sql) => this.releaseIn(sql, refs));
  }

  async releaseIn(sql: Sql, refs: readonly (LeaseRef & { delayMs?: number })[]): Promise<boolean[]> {
    const held = await this.held(sql, refs);
    const back = refs.filter((_, i) => held[i]);
    if (back.length > 0) {
      const now = await sql.now();
      await sql.exec(
        `UPDATE ${this.db.t('deliveries')} SET status = 0, lease_id = NULL, lease_expires_at = NULL, ready_at = CASE task_id ${back.map(() => 'WHEN ? THEN ?').join(' ')} END
         WHERE task_id IN ${list(back.length)}`,
        [...back.flatMap((r) => [r.taskId, now + Math.max(0, r.delayMs ?? 0)]), ...back.map((r) => r.taskId)],
      );
      this.wakeAfter(sql, back.map((r) => r.delayMs ?? 0));
    }
    return held;
  }

  extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.db.run('queue.extend', (sql) => this.extendIn(sql, refs, leaseMs));
  }

  async extendIn(sql: Sql, refs: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    const held = await this.held(sql, refs);
    const ids = refs.filter((_, i) => held[i]).map((r) => r.taskId);
    if (ids.length > 0) {
      const now = await sql.now();
      await sql.exec(`UPDATE ${this.db.t('deliveries')} SET lease_expires_at = ? WHERE task_id IN ${list(ids.length)}`, [now + leaseMs, ...ids]);
    }
    return held;
  }

  /** Per ref, whether its delivery is leased under that leaseId (rows locked until commit). A ref repeated in one batch matches once. */
  private async held(sql: Sql, refs: readonly LeaseRef[]): Promise<boolean[]> {
    const ids = [...new Set(refs.map((r) => r.taskId))];
    const rows = await sql.rows(`SELECT task_id, lease_id FROM ${this.db.t('deliveries')} WHERE task_id IN ${list(ids.length)} AND status = 1 ORDER BY task_id FOR UPDATE`, ids);
    const lease = new Map(rows.map((r) => [str(r.task_id), str(r.lease_id)]));
    return refs.map((r) => {
      if (lease.get(r.taskId) !== r.leaseId) return false;
      lease.delete(r.taskId);
      return true;
    });
  }

  async reclaimExpired(limit: number): Promise<LeaseRef[]> {
    if (limit <= 0) return [];
    const d = this.db.t('deliveries');
    const refs = await this.db.run('queue.reclaimExpired', async (sql) => {
      const now = await sql.now();
      // SKIP LOCKED: concurrent passes split the expired leases instead of queueing behind each other.
      const rows = await sql.rows(`SELECT task_id, lease_id FROM ${d} WHERE status = 1 AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ? FOR UPDATE SKIP LOCKED`, [now, limit]);
      if (rows.length === 0) return [];
      const out = rows.map((r) => ({ taskId: str(r.task_id), leaseId: str(r.lease_id) }));
      await sql.exec(`UPDATE ${d} SET status = 0, lease_id = NULL, lease_expires_at = NULL, ready_at = ? WHERE task_id IN ${list(out.length)}`, [
        now,
        ...rows.map((r) => r.task_id),
      ]);
      return out;
    });
    if (refs.length > 0) this.waker.wake();
    return refs;
  }

  async remove(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    const n = await this.db.auto('queue.remove', (sql) => sql.exec(`DELETE FROM ${this.db.t('deliveries')} WHERE task_id IN ${list(taskIds.length)} AND status IN (0, 1)`, taskIds));
    if (n > 0) this.waker.wake();
    return n;
  }

  async depth(): Promise<QueueDepth> {
    const [r] = await this.db.auto('queue.depth', async (sql) => sql.rows(`SELECT ${DEPTH} FROM ${this.db.t('deliveries')} WHERE status IN (0, 1)`, depthValues(await sql.now())));
    return depthOf(r);
  }

  async queues(): Promise<QueueInfo[]> {
    const { depths, configured } = await this.db.auto('queue.queues', async (sql) => {
      const now = await sql.now();
      return {
        depths: await sql.rows(`SELECT queue, ${DEPTH} FROM ${this.db.t('deliveries')} WHERE status IN (0, 1) GROUP BY queue`, depthValues(now)),
        configured: await sql.rows(`SELECT * FROM ${this.db.t('queues')}`),
      };
    });
    const out = new Map<string, QueueInfo>();
    for (const r of configured) out.set(str(r.name), { name: str(r.name), ...settingsOf(r), depth: { ready: 0, leased: 0, expired: 0, delayed: 0 } });
    for (const r of depths) {
      const name = str(r.queue);
      out.set(name, { ...(out.get(name) ?? { name, ...DEFAULT_QUEUE_SETTINGS }), depth: depthOf(r) });
    }
    return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async configure(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    const applied = await this.db.run('queue.configure', async (sql) => {
      const now = await sql.now();
      const [row] = await sql.rows(`SELECT * FROM ${this.db.t('queues')} WHERE name = ? FOR UPDATE`, [queue]);
      const s: QueueSettings = row === undefined ? { ...DEFAULT_QUEUE_SETTINGS } : settingsOf(row);
      let bucket: Bucket | null = row === undefined || row.rate_max === null ? null : { max: num(row.rate_max), perMs: num(row.rate_per_ms), origin: num(row.rate_origin), tat: num(row.rate_tat) };
      if (patch.paused !== undefined) s.paused = patch.paused;
      if (patch.concurrency !== undefined) s.concurrency = patch.concurrency;
      if (patch.groupConcurrency !== undefined) s.groupConcurrency = patch.groupConcurrency;
      if (patch.rateLimit !== undefined) {
        s.rateLimit = patch.rateLimit === null ? null : { max: patch.rateLimit.max, perMs: patch.rateLimit.perMs };
        bucket = s.rateLimit === null ? null : reconfigure(bucket, s.rateLimit, now);
      }
      await sql.exec(
        `INSERT INTO ${this.db.t('queues')} (name, paused, concurrency, group_concurrency, rate_max, rate_per_ms, rate_origin, rate_tat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE paused = VALUES(paused), concurrency = VALUES(concurrency), group_concurrency = VALUES(group_concurrency),
           rate_max = VALUES(rate_max), rate_per_ms = VALUES(rate_per_ms), rate_origin = VALUES(rate_origin), rate_tat = VALUES(rate_tat)`,
        [queue, s.paused ? 1 : 0, s.concurrency, s.groupConcurrency, bucket?.max ?? null, bucket?.perMs ?? null, bucket?.origin ?? 0, bucket?.tat ?? 0],
      );
      return s;
    });
    // Resumed, raised or lifted limits may let a waiting claim through.
    this.waker.wake();
    return applied;
  }
}

const DEPTH = `COALESCE(SUM(status = 0 AND ready_at <= ?), 0) AS ready, COALESCE(SUM(status = 1), 0) AS leased,
  COALESCE(SUM(status = 1 AND lease_expires_at <= ?), 0) AS expired, COALESCE(SUM(status = 0 AND ready_at > ?), 0) AS delayed_n`;
const depthValues = (now: number) => [now, now, now];

function depthOf(r: Row | undefined): QueueDepth {
  return { ready: num(r?.ready ?? 0), leased: num(r?.leased ?? 0), expired: num(r?.expired ?? 0), delayed: num(r?.delayed_n ?? 0) };
}

function settingsOf(r: Row): QueueSettings {
  return {
    paused: num(r.paused) === 1,
    concurrency: numOrNull(r.concurrency),
    rateLimit: r.rate_max === null ? null : { max: num(r.rate_max), perMs: num(r.rate_per_ms) },
    groupConcurrency: numOrNull(r.group_concurrency),
  };
}

/** A stored task id as text, or null when its bytes are not a valid (non-empty) UTF-8 string. */
function decodeId(raw: Buffer): string | null {
  if (raw.length === 0) return null;
  try {
    return utf8.decode(raw);
  } catch {
    return null;
  }
}
