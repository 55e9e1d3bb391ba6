// The SQLite side of EventLog: baton_events with an AUTOINCREMENT seq, so positions only grow,
// even after retention deleted the newest rows. One append call is one transaction: its events are
// contiguous and in order. The task, checkpoint, queue and timer stores append through `appendIn`
// inside their own write transaction, so an event exists iff the change it records committed.
import {
  newId,
  transitions,
  type EventLog,
  type EventPurgeOptions,
  type EventQuery,
  type JsonObject,
  type JsonValue,
  type NewEvent,
  type StoredEvent,
} from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';
import { describeType, isObject, parseColumn, rawText } from './sqlite-records.js';
import { StatementCache, WhereBuilder } from './statement-cache.js';

interface EventRow {
  seq: number;
  id: unknown;
  type: unknown;
  at: unknown;
  run_id: unknown;
  phase_id: unknown;
  task_id: unknown;
  worker_id: unknown;
  data: unknown;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A stored row as an event, or in its place a `record.quarantined` event carrying what could be read. */
function toEvent(row: EventRow): StoredEvent {
  const parsed = { value: null as JsonValue };
  let reason = parseColumn(row.data, parsed);
  if (reason === null && !isObject(parsed.value)) reason = `data is ${Array.isArray(parsed.value) ? 'an array' : describeType(parsed.value)}, not a JSON object`;
  if (reason === null && (typeof row.id !== 'string' || typeof row.type !== 'string' || typeof row.at !== 'number')) reason = 'id, type or at is not of its stored type';
  if (reason === null) {
    return {
      seq: row.seq,
      id: row.id as string,
      type: row.type as StoredEvent['type'],
      at: row.at as number,
      runId: str(row.run_id),
      phaseId: str(row.phase_id),
      taskId: str(row.task_id),
      workerId: str(row.worker_id),
      data: parsed.value as JsonObject,
    };
  }
  const at = typeof row.at === 'number' ? row.at : 0;
  const q = transitions.quarantinedEvent('event', String(row.seq), reason, rawText(row.data, 4096), str(row.id) ?? `seq-${row.seq}`, at);
  return { ...q, runId: str(row.run_id), phaseId: str(row.phase_id), taskId: str(row.task_id), workerId: str(row.worker_id), seq: row.seq };
}

export class SqliteEventLog implements EventLog {
  private readonly insert: SqliteStatement;
  private readonly keepBound: SqliteStatement;
  private readonly purgeBySeq: SqliteStatement;
  private readonly purgeByAge: SqliteStatement;
  private readonly filters: StatementCache;
  private readonly appendTx: SqliteTransaction<(events: NewEvent[]) => void>;
  private readonly purgeTx: SqliteTransaction<(o: EventPurgeOptions) => number>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.insert = db.prepare('INSERT INTO baton_events (id, type, at, run_id, phase_id, task_id, worker_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.keepBound = db.prepare('SELECT seq FROM baton_events ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck();
    this.purgeBySeq = db.prepare('DELETE FROM baton_events WHERE seq IN (SELECT seq FROM baton_events WHERE seq <= ? ORDER BY seq LIMIT ?)');
    this.purgeByAge = db.prepare('DELETE FROM baton_events WHERE seq IN (SELECT seq FROM baton_events WHERE at < ? ORDER BY at LIMIT ?)');
    this.appendTx = transaction(db, (events: NewEvent[]) => {
      for (const e of events) this.appendOne(e, e.runId, e.phaseId);
    });
    this.purgeTx = transaction(db, (o: EventPurgeOptions) => {
      let n = 0;
      const bound = this.keepBound.get(o.keepLatest) as number | undefined;
      if (bound !== undefined) n += this.purgeBySeq.run(bound, o.limit).changes;
      if (n < o.limit) n += this.purgeByAge.run(ctx.now() - o.olderThanMs, o.limit - n).changes;
      return n;
    });
  }

  /** Appends events handed to a task write, inside the caller's transaction, under the task's run and phase. */
  appendIn(events: readonly NewEvent[] | undefined, runId: string | null, phaseId: string | null): void {
    if (events === undefined) return;
    for (const e of events) this.appendOne(e, runId, phaseId);
  }

  /** Appends a `record.quarantined` event for a delivery or timer set aside, inside the caller's transaction. */
  quarantinedIn(kind: 'delivery' | 'timer', recordId: string, reason: string, raw: string): void {
    this.appendOne(transitions.quarantinedEvent(kind, recordId, reason, raw, newId(), this.ctx.now()), null, null);
  }

  appendOne(e: NewEvent, runId: string | null, phaseId: string | null): void {
    this.insert.run(e.id, e.type, e.at, runId, phaseId, e.taskId, e.workerId, JSON.stringify(e.data ?? {}));
  }

  append(events: NewEvent[]): Promise<void> {
    return this.ctx.run('events.append', () => {
      if (events.length > 0) this.appendTx.immediate(events);
    });
  }

  query(query: EventQuery): Promise<StoredEvent[]> {
    return this.ctx.run('events.query', () => {
      if (query.limit === 0) return [];
      const where = new WhereBuilder();
      if (query.runId !== undefined) where.add('r', 'run_id = ?', query.runId);
      if (query.phaseId !== undefined) where.add('p', 'phase_id = ?', query.phaseId);
      if (query.taskId !== undefined) where.add('t', 'task_id = ?', query.taskId);
      if (query.type !== undefined) {
        if (query.type.length === 1) where.add('y', 'type = ?', query.type[0]);
        else where.addIn('Y', 'type', query.type);
      }
      if (query.since !== undefined) where.add('s', 'at >= ?', query.since);
      if (query.after !== undefined) where.add('a', 'seq > ?', query.after);
      const stmt = this.filters.get(where.shape, () => `SELECT seq, id, type, at, run_id, phase_id, task_id, worker_id, data FROM baton_events${where.sql()} ORDER BY seq LIMIT ?`);
      return (stmt.all(...where.params, query.limit) as EventRow[]).map(toEvent);
    });
  }

  purge(options: EventPurgeOptions): Promise<number> {
    return this.ctx.run('events.purge', () => (options.limit <= 0 ? 0 : this.purgeTx.immediate(options)));
  }
}
