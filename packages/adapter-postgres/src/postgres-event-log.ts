// The PostgreSQL side of EventLog: an append-only table ordered by a bigint identity. Appends
// take a transaction-scoped advisory lock, so seq values follow commit order (a reader paging
// with `after` never skips an event committed late) and one append's events are contiguous.
import { ValidationError, type EventLog, type EventQuery, type EventType, type JsonObject, type NewEvent, type StoredEvent, type WriteOptions } from '@baton/core';
import type { Db, Statement } from './db.js';
import type { PgRow } from './pg-types.js';
import { json } from './rows.js';

const rows = `ROWS FROM (json_to_recordset($1::json) AS (
    id text, type text, at float8, run_id text, phase_id text, task_id text, worker_id text, data jsonb
  )) WITH ORDINALITY AS e(id, type, at, run_id, phase_id, task_id, worker_id, data, ord)`;

const insert = (from: string) => `
  INSERT INTO :SCHEMA:.events (id, type, at, run_id, phase_id, task_id, worker_id, data)
  SELECT e.id, e.type, to_timestamp(e.at / 1000.0), e.run_id, e.phase_id, e.task_id, e.worker_id, coalesce(e.data, '{}'::jsonb)
  FROM ${from}
  ORDER BY e.ord`;

const MAX_QUERY = 1000;

export class PostgresEventLog implements EventLog {
  private readonly append_: Statement;
  private readonly appendInTransaction: Statement;
  private readonly purge_: Statement;
  private readonly queries = new Map<string, Statement>();

  constructor(private readonly db: Db) {
    const [classId, objId] = db.names.eventLock;
    this.append_ = db.statement('events.append', `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${classId}, ${objId})) ${insert(`lock, ${rows}`)}`);
    // Inside the application's transaction the lock would be held until it commits, stalling
    // every other appender: there, seq order is append order but not necessarily commit order.
    this.appendInTransaction = db.statement('events.append', insert(rows));
    this.purge_ = db.statement(
      'events.purge',
      `WITH cutoff AS (
         SELECT seq FROM :SCHEMA:.events ORDER BY seq DESC OFFSET $2 LIMIT 1
       ), oldest AS (
         -- Old and surplus events are a prefix of seq order: look only at the oldest rows.
         SELECT seq, at FROM :SCHEMA:.events ORDER BY seq LIMIT $3
       ), gone AS (
         DELETE FROM :SCHEMA:.events e USING oldest o
         WHERE e.seq = o.seq AND (o.at < now() - $1 * interval '1 millisecond' OR o.seq <= (SELECT seq FROM cutoff))
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
    );
  }

  async append(events: NewEvent[], options?: WriteOptions): Promise<void> {
    if (events.length === 0) return;
    const payload = JSON.stringify(
      events.map((e) => ({
        id: e.id,
        type: e.type,
        at: e.at,
        run_id: e.runId,
        phase_id: e.phaseId,
        task_id: e.taskId,
        worker_id: e.workerId,
        data: e.data,
      })),
    );
    await this.db.run(options?.transaction === undefined ? this.append_ : this.appendInTransaction, [payload], options);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    if (query.runId !== undefined) where.push(`run_id = ${param(query.runId)}`);
    if (query.phaseId !== undefined) where.push(`phase_id = ${param(query.phaseId)}`);
    if (query.taskId !== undefined) where.push(`task_id = ${param(query.taskId)}`);
    if (query.type !== undefined) where.push(typeFilter(Array.isArray(query.type) ? query.type : [query.type]));
    if (query.since !== undefined) where.push(`at >= to_timestamp(${param(query.since)}::float8 / 1000.0)`);
    if (query.after !== undefined) where.push(`seq > ${param(query.after)}`);
    const limit = Math.min(MAX_QUERY, Math.max(0, Math.floor(query.limit ?? 100)));
    const text = `SELECT seq::float8 AS seq, id, type, round(date_part('epoch', at) * 1000) AS at, run_id, phase_id, task_id, worker_id, data::text AS data
      FROM :SCHEMA:.events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${param(limit)}`;
    let stmt = this.queries.get(text);
    if (!stmt) {
      stmt = this.db.statement('events.query', text);
      this.queries.set(text, stmt);
    }
    return (await this.db.run(stmt, values)).map(toEvent);
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    if (options.limit <= 0) return 0;
    const r = await this.db.run(this.purge_, [options.olderThanMs, options.keepLatest, options.limit]);
    return Number(r[0]?.n ?? 0);
  }
}

const EVENT_TYPE = /^[a-z_]+\.[a-z_]+$/;

/**
 * Types go into the SQL as literals (checked against the event-type shape first), so the planner
 * can prove a query for a rare type matches the partial type index.
 */
function typeFilter(types: string[]): string {
  if (types.length === 0) return 'false';
  for (const t of types) {
    if (typeof t !== 'string' || !EVENT_TYPE.test(t)) throw new ValidationError(`events.query: ${JSON.stringify(t)} is not an event type (e.g. "task.completed").`);
  }
  return `(${types.map((t) => `type = '${t}'`).join(' OR ')})`;
}

function toEvent(r: PgRow): StoredEvent {
  return {
    seq: r.seq as number,
    id: r.id as string,
    type: r.type as EventType,
    at: r.at as number,
    runId: (r.run_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    taskId: (r.task_id as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
    data: json<JsonObject>(r.data) ?? {},
  };
}
