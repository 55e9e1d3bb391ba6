// The SQLite side of TimerStore: baton_timers, a row per pending timer, deleted on completion.
// A claim sets claim_expires_at; until then no other timer service gets the timer, after it (the
// claimer crashed) the timer is due again. Claims run in BEGIN IMMEDIATE, so each fires once.
import { parseJson, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';
import { StatementCache, WhereBuilder } from './statement-cache.js';

interface TimerRow {
  id: string;
  kind: TimerKind;
  key: string | null;
  task_id: string | null;
  phase_id: string | null;
  name: string | null;
  payload: string;
  due_at: number;
  created_at: number;
}

const COLUMNS = 'id, kind, key, task_id, phase_id, name, payload, due_at, created_at';

function toRecord(row: TimerRow): TimerRecord {
  return {
    id: row.id,
    kind: row.kind,
    key: row.key,
    taskId: row.task_id,
    phaseId: row.phase_id,
    name: row.name,
    payload: parseJson<JsonValue>(row.payload),
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
  private readonly scheduleTx: SqliteTransaction<(timers: NewTimer[]) => TimerRecord[]>;
  private readonly claimTx: SqliteTransaction<(limit: number, leaseMs: number) => TimerRecord[]>;
  private readonly completeTx: SqliteTransaction<(ids: string[]) => void>;
  private readonly nextTx: SqliteTransaction<() => number | null>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.byKey = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE key = ?`);
    this.byId = db.prepare(`SELECT ${COLUMNS} FROM baton_timers WHERE id = ?`);
    this.insert = db.prepare(
      'INSERT INTO baton_timers (id, kind, key, task_id, phase_id, name, payload, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (id) DO NOTHING',
    );
    this.dueUnclaimed = db.prepare(
      `SELECT ${COLUMNS} FROM baton_timers WHERE claim_expires_at IS NULL AND due_at <= ? ORDER BY due_at LIMIT ?`,
    );
    this.dueExpired = db.prepare(
      `SELECT ${COLUMNS} FROM baton_timers WHERE claim_expires_at IS NOT NULL AND claim_expires_at <= ? ORDER BY claim_expires_at LIMIT ?`,
    );
    this.claimOne = db.prepare('UPDATE baton_timers SET claim_expires_at = ? WHERE id = ?');
    this.deleteOne = db.prepare('DELETE FROM baton_timers WHERE id = ?');
    this.earliestUnclaimed = db.prepare('SELECT min(due_at) FROM baton_timers WHERE claim_expires_at IS NULL').pluck();
    this.earliestClaimExpiry = db.prepare('SELECT min(claim_expires_at) FROM baton_timers WHERE claim_expires_at IS NOT NULL').pluck();

    this.scheduleTx = transaction(db, (timers: NewTimer[]) => {
      const now = ctx.now();
      return timers.map((t): TimerRecord => {
        if (t.key !== null) {
          const pending = this.byKey.get(t.key) as TimerRow | undefined;
          if (pending !== undefined) return toRecord(pending);
        }
        const dueAt = now + Math.max(0, t.delayMs);
        const payload = JSON.stringify(t.payload ?? null);
        if (this.insert.run(t.id, t.kind, t.key, t.taskId, t.phaseId, t.name, payload, dueAt, now).changes === 0) {
          // Same id scheduled again (a retried call): the stored timer stands.
          return toRecord(this.byId.get(t.id) as TimerRow);
        }
        return { id: t.id, kind: t.kind, key: t.key, taskId: t.taskId, phaseId: t.phaseId, name: t.name, payload: t.payload ?? null, dueAt, createdAt: now };
      });
    });
    this.claimTx = transaction(db, (limit: number, leaseMs: number) => {
      const now = ctx.now();
      let rows = this.dueUnclaimed.all(now, limit) as TimerRow[];
      const expired = this.dueExpired.all(now, limit) as TimerRow[];
      if (expired.length > 0) rows = rows.concat(expired).sort((a, b) => a.due_at - b.due_at).slice(0, limit);
      const until = now + leaseMs;
      for (const row of rows) this.claimOne.run(until, row.id);
      return rows.map(toRecord);
    });
    this.completeTx = transaction(db, (ids: string[]) => {
      for (const id of ids) this.deleteOne.run(id);
    });
    this.nextTx = transaction(db, () => {
      const now = ctx.now();
      const expiry = this.earliestClaimExpiry.get() as number | null;
      if (expiry !== null && expiry <= now) return 0;
      const due = this.earliestUnclaimed.get() as number | null;
      return due === null ? null : Math.max(0, due - now);
    });
  }

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    this.ctx.assertOpen();
    if (timers.length === 0) return [];
    let out: TimerRecord[];
    try {
      out = this.scheduleTx.immediate(timers);
    } catch (err) {
      throw this.ctx.error('timers.schedule', err);
    }
    return out;
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    this.ctx.assertOpen();
    if (limit <= 0) return [];
    try {
      return this.claimTx.immediate(Math.floor(limit), leaseMs);
    } catch (err) {
      throw this.ctx.error('timers.claimDue', err);
    }
  }

  async complete(ids: string[]): Promise<void> {
    this.ctx.assertOpen();
    if (ids.length === 0) return;
    try {
      this.completeTx.immediate(ids);
    } catch (err) {
      throw this.ctx.error('timers.complete', err);
    }
  }

  async cancel(filter: TimerFilter): Promise<number> {
    this.ctx.assertOpen();
    const where = this.where(filter);
    if (where === null) return 0;
    try {
      const stmt = this.filters.get(`d${where.shape}`, () => `DELETE FROM baton_timers${where.sql()}`);
      return stmt.run(...where.params).changes;
    } catch (err) {
      throw this.ctx.error('timers.cancel', err);
    }
  }

  async nextDueIn(): Promise<number | null> {
    this.ctx.assertOpen();
    try {
      return this.nextTx();
    } catch (err) {
      throw this.ctx.error('timers.nextDueIn', err);
    }
  }

  async list(filter: TimerFilter): Promise<TimerRecord[]> {
    this.ctx.assertOpen();
    const where = this.where(filter);
    if (where === null) return [];
    try {
      const stmt = this.filters.get(`l${where.shape}`, () => `SELECT ${COLUMNS} FROM baton_timers${where.sql()} ORDER BY due_at, rowid`);
      return (stmt.all(...where.params) as TimerRow[]).map(toRecord);
    } catch (err) {
      throw this.ctx.error('timers.list', err);
    }
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
