// TimerStore on MySQL. next_at is when a timer can next be claimed: its due time, then the end of
// each claim, so a claimer that crashed without completing simply lets it come due again.
// Claims take rows FOR UPDATE SKIP LOCKED (one timer, one claimer). A timer whose payload cannot
// be decoded is flagged quarantined — out of every query — with a `record.quarantined` event.
import { newId, parseJson, transitions, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core/adapter';
import { list, num, str, strOrNull, type Db, type Row } from './mysql-db.js';
import { insertEvents } from './mysql-event-log.js';

const KINDS: readonly TimerKind[] = ['retry', 'timeout', 'cleanup', 'custom'];
const COLUMNS = 'seq, id, kind, k, task_id, phase_id, name, payload, due_at, created_at';

export class MysqlTimerStore implements TimerStore {
  constructor(private readonly db: Db) {}

  schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return Promise.resolve([]);
    const t = this.db.t('timers');
    return this.db.run('timers.schedule', async (sql) => {
      const now = await sql.now();
      const out: TimerRecord[] = [];
      for (const x of timers) {
        const due = now + Math.max(0, x.delayMs);
        // A pending timer holding the key (or this id) wins: the INSERT becomes a no-op and the holder is read back.
        await sql.exec(
          `INSERT INTO ${t} (id, kind, k, task_id, phase_id, name, payload, due_at, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE seq = seq`,
          [x.id, x.kind, x.key, x.taskId, x.phaseId, x.name, JSON.stringify(x.payload), due, due, now],
        );
        const [r] = x.key === null ? await sql.rows(`SELECT ${COLUMNS} FROM ${t} WHERE id = ?`, [x.id]) : await sql.rows(`SELECT ${COLUMNS} FROM ${t} WHERE pending_key = ?`, [x.key]);
        const rec = r === undefined ? null : decode(r);
        out.push(rec ?? { id: x.id, kind: x.kind, key: x.key, taskId: x.taskId, phaseId: x.phaseId, name: x.name, payload: x.payload, dueAt: due, createdAt: now });
      }
      return out;
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (limit <= 0) return [];
    const t = this.db.t('timers');
    return this.db.run('timers.claimDue', async (sql) => {
      const now = await sql.now();
      const rows = await sql.rows(`SELECT ${COLUMNS} FROM ${t} WHERE quarantined = 0 AND next_at <= ? ORDER BY next_at, seq LIMIT ? FOR UPDATE SKIP LOCKED`, [now, limit]);
      const good: TimerRecord[] = [];
      const bad: Row[] = [];
      for (const r of rows) {
        const rec = decode(r);
        if (rec === null) bad.push(r);
        else good.push(rec);
      }
      if (good.length > 0) await sql.exec(`UPDATE ${t} SET next_at = ? WHERE id IN ${list(good.length)}`, [now + leaseMs, ...good.map((g) => g.id)]);
      if (bad.length > 0) {
        const ids = bad.map((r) => str(r.id));
        await sql.exec(`UPDATE ${t} SET quarantined = 1 WHERE id IN ${list(ids.length)}`, ids);
        await insertEvents(this.db, sql, bad.map((r) => transitions.quarantinedEvent('timer', str(r.id), reasonOf(r), String(r.payload), newId(), now)));
      }
      return good;
    });
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.auto('timers.complete', (sql) => sql.exec(`DELETE FROM ${this.db.t('timers')} WHERE id IN ${list(ids.length)}`, ids));
  }

  async cancel(filter: TimerFilter): Promise<number> {
    const { where, values } = filterSql(filter);
    if (where === null) return 0;
    return this.db.auto('timers.cancel', (sql) => sql.exec(`DELETE FROM ${this.db.t('timers')} WHERE ${where}`, values));
  }

  async nextDueIn(): Promise<number | null> {
    return this.db.auto('timers.nextDueIn', async (sql) => {
      const now = await sql.now();
      const [r] = await sql.rows(`SELECT MIN(next_at) AS at FROM ${this.db.t('timers')} WHERE quarantined = 0`);
      return r?.at === null || r?.at === undefined ? null : Math.max(0, num(r.at) - now);
    });
  }

  async list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    const { where, values } = filterSql(filter);
    if (where === null || filter.limit <= 0) return [];
    const rows = await this.db.auto('timers.list', (sql) => sql.rows(`SELECT ${COLUMNS} FROM ${this.db.t('timers')} WHERE ${where} ORDER BY due_at, seq LIMIT ?`, [...values, filter.limit]));
    return rows.flatMap((r) => decode(r) ?? []);
  }
}

/** The WHERE of a filter over pending (not quarantined) timers; null when an empty id or key list matches nothing. */
function filterSql(f: TimerFilter): { where: string | null; values: unknown[] } {
  const where = ['quarantined = 0'];
  const values: unknown[] = [];
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return { where: null, values };
    where.push(`id IN ${list(f.ids.length)}`);
    values.push(...f.ids);
  }
  if (f.keys !== undefined) {
    if (f.keys.length === 0) return { where: null, values };
    where.push(`k IN ${list(f.keys.length)}`);
    values.push(...f.keys);
  }
  if (f.taskId !== undefined) {
    where.push('task_id = ?');
    values.push(f.taskId);
  }
  if (f.phaseId !== undefined) {
    where.push('phase_id = ?');
    values.push(f.phaseId);
  }
  return { where: where.join(' AND '), values };
}

function decode(r: Row): TimerRecord | null {
  const kind = String(r.kind) as TimerKind;
  if (!KINDS.includes(kind)) return null;
  let payload: JsonValue;
  try {
    payload = parseJson(String(r.payload));
  } catch {
    return null;
  }
  return { id: str(r.id), kind, key: strOrNull(r.k), taskId: strOrNull(r.task_id), phaseId: strOrNull(r.phase_id), name: strOrNull(r.name), payload, dueAt: num(r.due_at), createdAt: num(r.created_at) };
}

function reasonOf(r: Row): string {
  if (!KINDS.includes(String(r.kind) as TimerKind)) return `unknown timer kind ${JSON.stringify(String(r.kind)).slice(0, 40)}`;
  try {
    parseJson(String(r.payload));
    return 'undecodable';
  } catch (err) {
    return (err as Error).message || 'payload is not JSON';
  }
}
