// The SQLite side of TimerStore: baton_timers, a row per pending timer, deleted on completion.
// A claim sets claim_expires_at; until then no other timer service gets the timer, after it (the
// claimer crashed) the timer is due again. Claims run in BEGIN IMMEDIATE, so each fires once. A
// row that cannot be decoded is set aside where it is met (claimDue, list): deleted with a
// `record.quarantined` event carrying its raw text, so it is never handed out and never blocks
// the other timers.
import { parseJson, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';
import type { SqliteEventLog } from './sqlite-event-log.js';
import { describeType, parseColumn, rawText } from './sqlite-records.js';
import { StatementCache, WhereBuilder } from './statement-cache.js';

interface TimerRow {
  id: string;
  kind: unknown;
  key: unknown;
  task_id: unknown;
  phase_id: unknown;
  name: unknown;
  payload: unknown;
  due_at: unknown;
  created_at: unknown;
}

const COLUMNS = 'id, kind, key, task_id, phase_id, name, payload, due_at, created_at';
const KINDS: readonly unknown[] = ['retry', 'timeout', 'cleanup', 'custom'];
const textOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

/** The record of a row, or why it cannot be decoded. */
function decode(row: TimerRow): TimerRecord | string {
  const payload = { value: null as JsonValue };
  const reason = parseColumn(row.payload, payload);
  if (reason !== null) return `payload: ${reason}`;
  if (!KINDS.includes(row.kind)) return `kind stored as ${describeType(row.kind)}`;
  if (!textOrNull(row.key) || !textOrNull(row.task_id) || !textOrNull(row.phase_id) || !textOrNull(row.name)) return 'key, taskId, phaseId or name is not text';
  if (typeof row.due_at !== 'number' || typeof row.created_at !== 'number') return 'dueAt or createdAt is not a number';
  return {
    id: row.id,
    kind: row.kind as TimerKind,
    key: row.key as string | null,
    taskId: row.task_id as string | null,
    phaseId: row.phase_id as string | null,
    name: row.name as string | null,
    payload: payload.value,
    dueAt: row.due_at,
    createdAt: row.created_at,
  };
}

export class SqliteTimerStore implements TimerStore {
  private readonly byKey: SqliteStatement;
  private readonly byId: SqliteStatement;
  private readonly insert: SqliteStatement;
  private readonly dueUnclaimed: SqliteStatement;
  private readonly dueExpired: SqliteStatement;
  private readonly claimOne: SqliteStatement;
  private readonly deleteOne: SqliteStatement;
  private readonly earliestUnclaimed: SqliteStatement;
  private readonly earliestClaimExpiry: SqliteStatement;
  private readonly filters: StatementCache;

  constructor(
    private readonly ctx: SqliteContext,
    private readonly events: SqliteEventLog,
  ) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.byKey = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE key = ?`);
    this.byId = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE id = ?`);
    this.insert = db.prepare(
      'INSERT INTO baton_timers (id, kind, key, task_id, phase_id, name, payload, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    // Due: unclaimed and due, or claimed by a claimer whose claim expired (each read by its own index).
    this.dueUnclaimed = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE claim_expires_at IS NULL AND due_at <= ? ORDER BY due_at LIMIT ?`);
    this.dueExpired = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE claim_expires_at IS NOT NULL AND claim_expires_at <= ? ORDER BY claim_expires_at LIMIT ?`);
    this.claimOne = db.prepare('UPDATE baton_timers SET claim_expires_at = ? WHERE id = ?');
    this.deleteOne = db.prepare('DELETE FROM baton_timers WHERE id = ?');
    this.earliestUnclaimed = db.prepare('SELECT min(due_at) FROM baton_timers WHERE claim_expires_at IS NULL').pluck();
    this.earliestClaimExpiry = db.prepare('SELECT min(claim_expires_at) FROM baton_timers WHERE claim_expires_at IS NOT NULL').pluck();
  }

  schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    return this.ctx.run('timers.schedule', () =>
      timers.length === 0
        ? []
        : this.ctx.write(() => {
            const now = this.ctx.now();
            return timers.map((t): TimerRecord => {
              const pending = t.key === null ? undefined : (this.byKey.get(t.key) as TimerRow | undefined);
              if (pending !== undefined) return this.decodeOrSetAside(pending) ?? this.scheduleOne(t, now);
              return this.scheduleOne(t, now);
            });
          }),
    );
  }

  claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    return this.ctx.run('timers.claimDue', () =>
      limit <= 0
        ? []
        : this.ctx.write(() => {
            const now = this.ctx.now();
            const out: TimerRecord[] = [];
            // A page with a bad row is read again after the row was set aside, so good timers fill it.
            for (let pass = 0; out.length < limit && pass < 64; pass++) {
              const rows = this.dueRows(now, limit - out.length);
              let bad = false;
              for (const row of rows) {
                const rec = this.decodeOrSetAside(row);
                if (rec === null) bad = true;
                else {
                  this.claimOne.run(now + leaseMs, rec.id);
                  out.push(rec);
                }
              }
              if (!bad) break;
            }
            return out;
          }),
    );
  }

  complete(ids: string[]): Promise<void> {
    return this.ctx.run('timers.complete', () => {
      if (ids.length === 0) return;
      this.ctx.write(() => {
        for (const id of ids) this.deleteOne.run(id);
      });
    });
  }

  cancel(filter: TimerFilter): Promise<number> {
    return this.ctx.run('timers.cancel', () => {
      const where = this.where(filter);
      if (where === null) return 0;
      return this.filters.get(`d${where.shape}`, () => `DELETE FROM baton_timers${where.sql()}`).run(...where.params).changes;
    });
  }

  nextDueIn(): Promise<number | null> {
    return this.ctx.run('timers.nextDueIn', () =>
      this.ctx.read(() => {
        const now = this.ctx.now();
        // A claim that expired uncompleted makes its timer due again at once.
        const expiry = this.earliestClaimExpiry.get() as number | null;
        if (expiry !== null && expiry <= now) return 0;
        const due = this.earliestUnclaimed.get() as number | null;
        return due === null ? null : Math.max(0, due - now);
      }),
    );
  }

  list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    return this.ctx.run('timers.list', () => {
      const where = this.where(filter);
      if (where === null || filter.limit <= 0) return [];
      const stmt = this.filters.get(`l${where.shape}`, () => `SELECT ${COLUMNS} FROM baton_timers${where.sql()} ORDER BY due_at, rowid LIMIT ?`);
      const rows = stmt.all(...where.params, filter.limit) as TimerRow[];
      const decoded = rows.map(decode);
      if (decoded.every((r) => typeof r !== 'string')) return decoded as TimerRecord[];
      // Set the bad rows aside under the write lock, then read the page again.
      this.ctx.write(() => rows.forEach((row, i) => typeof decoded[i] === 'string' && this.decodeOrSetAside(row)));
      return (stmt.all(...where.params, filter.limit) as TimerRow[]).map(decode).filter((r): r is TimerRecord => typeof r !== 'string');
    });
  }

  /** Due rows, earliest first: unclaimed ones by due time merged with expired claims. */
  private dueRows(now: number, limit: number): TimerRow[] {
    const rows = this.dueUnclaimed.all(now, limit) as TimerRow[];
    const expired = this.dueExpired.all(now, limit) as TimerRow[];
    if (expired.length === 0) return rows;
    return rows.concat(expired).sort((a, b) => Number(a.due_at) - Number(b.due_at)).slice(0, limit);
  }

  private scheduleOne(t: NewTimer, now: number): TimerRecord {
    const dueAt = now + t.delayMs;
    const payload = JSON.stringify(t.payload);
    if (this.insert.run(t.id, t.kind, t.key, t.taskId, t.phaseId, t.name, payload, dueAt, now).changes === 0) {
      // Same id scheduled again (a retried call): the stored timer stands, unless it was undecodable and just set aside.
      const stored = this.decodeOrSetAside(this.byId.get(t.id) as TimerRow);
      if (stored !== null) return stored;
      this.insert.run(t.id, t.kind, t.key, t.taskId, t.phaseId, t.name, payload, dueAt, now);
    }
    return { id: t.id, kind: t.kind, key: t.key, taskId: t.taskId, phaseId: t.phaseId, name: t.name, payload: parseJson<JsonValue>(payload), dueAt, createdAt: now };
  }

  /** The record of a row; a row that cannot be decoded is deleted with a `record.quarantined` event (inside a write transaction) and gives null. */
  private decodeOrSetAside(row: TimerRow): TimerRecord | null {
    const rec = decode(row);
    if (typeof rec !== 'string') return rec;
    if (this.deleteOne.run(row.id).changes > 0) {
      this.events.quarantinedIn('timer', row.id, rec, rawText(row.payload, 4096));
      this.ctx.logger.warn({ timerId: row.id, reason: rec }, 'a timer that cannot be decoded was set aside');
    }
    return null;
  }

  /** Null when a given list is empty: nothing can match. */
  private where(filter: TimerFilter): WhereBuilder | null {
    if (filter.ids?.length === 0 || filter.keys?.length === 0) return null;
    const where = new WhereBuilder();
    if (filter.ids !== undefined) where.addIn('i', 'id', filter.ids);
    if (filter.keys !== undefined) where.addIn('k', 'key', filter.keys);
    if (filter.taskId !== undefined) where.add('t', 'task_id = ?', filter.taskId);
    if (filter.phaseId !== undefined) where.add('p', 'phase_id = ?', filter.phaseId);
    return where;
  }
}
