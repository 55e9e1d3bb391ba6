// The SQLite side of EventLog: baton_events with an AUTOINCREMENT seq, so positions only grow,
// even after retention deleted the newest rows. One append call is one transaction: its events
// are contiguous and in order.
import { parseJson, type EventLog, type EventQuery, type EventType, type JsonObject, type NewEvent, type StoredEvent } from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';
import { pageLimit, StatementCache, WhereBuilder } from './statement-cache.js';

interface EventRow {
  seq: number;
  id: string;
  type: EventType;
  at: number;
  run_id: string | null;
  phase_id: string | null;
  task_id: string | null;
  worker_id: string | null;
  data: string;
}

function toEvent(row: EventRow): StoredEvent {
  return {
    seq: row.seq,
    id: row.id,
    type: row.type,
    at: row.at,
    runId: row.run_id,
    phaseId: row.phase_id,
    taskId: row.task_id,
    workerId: row.worker_id,
    data: parseJson<JsonObject>(row.data),
  };
}

export class SqliteEventLog implements EventLog {
  private readonly insert: SqliteStatement;
  private readonly keepBound: SqliteStatement;
  private readonly purgeBySeq: SqliteStatement;
  private readonly purgeByAge: SqliteStatement;
  private readonly filters: StatementCache;
  /** @internal composed into SqliteFlow's transactions. */
  readonly appendTx: SqliteTransaction<(events: NewEvent[]) => void>;
  private readonly purgeTx: SqliteTransaction<(olderThanMs: number, keepLatest: number, limit: number) => number>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.insert = db.prepare(
      'INSERT INTO baton_events (id, type, at, run_id, phase_id, task_id, worker_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.keepBound = db.prepare('SELECT seq FROM baton_events ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck();
    this.purgeBySeq = db.prepare('DELETE FROM baton_events WHERE seq IN (SELECT seq FROM baton_events WHERE seq <= ? ORDER BY seq LIMIT ?)');
    this.purgeByAge = db.prepare('DELETE FROM baton_events WHERE seq IN (SELECT seq FROM baton_events WHERE at < ? ORDER BY at LIMIT ?)');
    this.appendTx = transaction(db, (events: NewEvent[]) => {
      for (const e of events) {
        this.insert.run(e.id, e.type, e.at, e.runId, e.phaseId, e.taskId, e.workerId, JSON.stringify(e.data ?? {}));
      }
    });
    this.purgeTx = transaction(db, (olderThanMs: number, keepLatest: number, limit: number) => {
      let n = 0;
      const bound = this.keepBound.get(keepLatest) as number | undefined;
      if (bound !== undefined) n += this.purgeBySeq.run(bound, limit).changes;
      if (n < limit) n += this.purgeByAge.run(ctx.now() - olderThanMs, limit - n).changes;
      return n;
    });
  }

  async append(events: NewEvent[]): Promise<void> {
    this.ctx.assertOpen();
    if (events.length === 0) return;
    try {
      this.appendTx.immediate(events);
    } catch (err) {
      throw this.ctx.error('events.append', err);
    }
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    this.ctx.assertOpen();
    const limit = pageLimit(query.limit);
    const types = query.type === undefined ? undefined : Array.isArray(query.type) ? query.type : [query.type];
    if (limit === 0 || types?.length === 0) return [];
    const where = new WhereBuilder();
    if (query.runId !== undefined) where.add('r', 'run_id = ?', query.runId);
    if (query.phaseId !== undefined) where.add('p', 'phase_id = ?', query.phaseId);
    if (query.taskId !== undefined) where.add('t', 'task_id = ?', query.taskId);
    if (types !== undefined) {
      if (types.length === 1) where.add('y', 'type = ?', types[0]);
      else where.addIn('Y', 'type', types);
    }
    if (query.since !== undefined) where.add('s', 'at >= ?', query.since);
    if (query.after !== undefined) where.add('a', 'seq > ?', query.after);
    try {
      const stmt = this.filters.get(
        where.shape,
        () => `SELECT seq, id, type, at, run_id, phase_id, task_id, worker_id, data FROM baton_events${where.sql()} ORDER BY seq LIMIT ?`,
      );
      return (stmt.all(...where.params, limit) as EventRow[]).map(toEvent);
    } catch (err) {
      throw this.ctx.error('events.query', err);
    }
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    this.ctx.assertOpen();
    if (options.limit <= 0) return 0;
    try {
      return this.purgeTx.immediate(Math.max(0, options.olderThanMs), Math.max(0, Math.floor(options.keepLatest)), Math.floor(options.limit));
    } catch (err) {
      throw this.ctx.error('events.purge', err);
    }
  }
}
