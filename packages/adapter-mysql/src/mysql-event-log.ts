// The audit trail. seq is AUTO_INCREMENT: strictly increasing in append order, and one call's
// events are inserted by one multi-row INSERT, so they are contiguous and keep their order
// (innodb_autoinc_lock_mode 0 or 1; MariaDB's default is 1). The task and checkpoint stores
// insert here inside their own transactions (`atomicEvents`).
import { newId, parseJson, transitions, type EventLog, type EventPurgeOptions, type EventQuery, type JsonObject, type NewEvent, type StoredEvent, type WriteOptions } from '@baton/core/adapter';
import { NOW_MS, list, num, str, strOrNull, type Db, type Row, type Sql } from './mysql-db.js';

/** Appends events in order with one INSERT (nothing for an empty list). */
export async function insertEvents(db: Db, sql: Sql, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const values: unknown[] = [];
  for (const e of events) values.push(e.id, e.type, e.at, e.runId, e.phaseId, e.taskId, e.workerId, JSON.stringify(e.data));
  await sql.exec(
    `INSERT INTO ${db.t('events')} (id, type, at, run_id, phase_id, task_id, worker_id, data) VALUES ${events.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    values,
  );
}

export class MysqlEventLog implements EventLog {
  constructor(private readonly db: Db) {}

  async append(events: NewEvent[], options?: WriteOptions): Promise<void> {
    if (events.length === 0) return;
    await this.db.run('events.append', (sql) => insertEvents(this.db, sql, events), options?.transaction);
  }

  async query(q: EventQuery): Promise<StoredEvent[]> {
    if (q.limit <= 0) return [];
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (cond: string, ...v: unknown[]) => {
      where.push(cond);
      values.push(...v);
    };
    if (q.after !== undefined) add('seq > ?', q.after);
    if (q.runId !== undefined) add('run_id = ?', q.runId);
    if (q.phaseId !== undefined) add('phase_id = ?', q.phaseId);
    if (q.taskId !== undefined) add('task_id = ?', q.taskId);
    if (q.type !== undefined) add(`type IN ${list(q.type.length)}`, ...q.type);
    if (q.since !== undefined) add('at >= ?', q.since);
    const text = `SELECT seq, id, type, at, run_id, phase_id, task_id, worker_id, data FROM ${this.db.t('events')}
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    const rows = await this.db.auto('events.query', (sql) => sql.rows(text, [...values, q.limit]));
    return rows.map(toEvent);
  }

  async purge(o: EventPurgeOptions): Promise<number> {
    if (o.limit <= 0) return 0;
    return this.db.run('events.purge', async (sql) => {
      // The seq from which the newest keepLatest events start: everything before it is beyond them.
      const [keepFrom] = await sql.rows(`SELECT seq FROM ${this.db.t('events')} ORDER BY seq DESC LIMIT 1 OFFSET ?`, [Math.max(0, o.keepLatest - 1)]);
      const boundary = o.keepLatest === 0 ? Number.MAX_SAFE_INTEGER : keepFrom === undefined ? 0 : num(keepFrom.seq);
      const victims = await sql.rows(
        `SELECT seq FROM ${this.db.t('events')} WHERE seq < ? OR at < ${NOW_MS} - ? ORDER BY seq LIMIT ?`,
        [boundary, o.olderThanMs, o.limit],
      );
      if (victims.length === 0) return 0;
      const seqs = victims.map((r) => num(r.seq));
      return sql.exec(`DELETE FROM ${this.db.t('events')} WHERE seq IN ${list(seqs.length)}`, seqs);
    });
  }
}

/** A stored event; one whose data cannot be decoded comes back in its place as `record.quarantined`. */
function toEvent(r: Row): StoredEvent {
  const seq = num(r.seq);
  const id = str(r.id);
  const head = { seq, id, at: num(r.at), runId: strOrNull(r.run_id), phaseId: strOrNull(r.phase_id), taskId: strOrNull(r.task_id), workerId: strOrNull(r.worker_id) };
  const text = String(r.data);
  try {
    const data = parseJson<JsonObject>(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('event data is not a JSON object');
    return { ...head, type: String(r.type) as StoredEvent['type'], data };
  } catch (err) {
    const q = transitions.quarantinedEvent('event', id, (err as Error).message || 'undecodable', text, newId(), head.at);
    return { ...head, type: 'record.quarantined', data: q.data };
  }
}
