// The PostgreSQL side of TimerStore: durable timers due by the database clock. claimDue hides
// a timer from other claimers until `claimed_until` (SKIP LOCKED, so many timer services can
// run); complete() stamps `fired_at`, and fired timers are pruned after a retention period. A
// timer whose payload cannot be decoded is set aside where it is found — stamped fired, so it
// leaves the due set, with a record.quarantined event keeping its raw text — and never blocks
// the timers behind it.
import { BackendError, parseJson, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core/adapter';
import { ms, texts, type Db, type Statement } from './db.js';
import { SEQ } from './event-rows.js';
import type { PgRow } from './pg-types.js';
import { jsonText } from './task-rows.js';

const cols = (t: string) =>
  `${t}.id, ${t}.kind, ${t}.key, ${t}.task_id, ${t}.phase_id, ${t}.name, ${t}.payload,
   ${ms(`${t}.due_at`)} AS due_at, ${ms(`${t}.created_at`)} AS created_at`;

export const TIMER_SQL = {
  schedule: `
    WITH input AS (
      SELECT * FROM ROWS FROM (
        json_to_recordset($1::json) AS (id text, kind text, delay_ms float8, key text, task_id text, phase_id text, name text),
        unnest(string_to_array($2, chr(30)))
      ) WITH ORDINALITY AS x(id, kind, delay_ms, key, task_id, phase_id, name, payload, ord)
    ), ins AS (
      INSERT INTO :SCHEMA:.timers AS t (id, kind, key, task_id, phase_id, name, payload, due_at)
      SELECT id, kind, key, task_id, phase_id, name, payload, clock_timestamp() + delay_ms * interval '1 millisecond'
      FROM input ORDER BY ord
      ON CONFLICT DO NOTHING
      RETURNING ${cols('t')}
    )
    SELECT * FROM ins`,
  // Timers that lost the insert to a pending one with the same key (or id).
  existing: `
    SELECT ${cols('t')} FROM :SCHEMA:.timers t
    WHERE t.fired_at IS NULL AND (t.key = ANY($1::text[]) OR t.id = ANY($2::text[]))`,
  // The due-timer query.
  claimDue: `
    WITH due AS (
      SELECT id FROM :SCHEMA:.timers
      WHERE fired_at IS NULL AND due_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
      ORDER BY due_at
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE :SCHEMA:.timers t SET claimed_until = clock_timestamp() + $2 * interval '1 millisecond'
      WHERE t.id = ANY(ARRAY(SELECT id FROM due))
      RETURNING ${cols('t')}, t.due_at AS due_ts
    )
    SELECT * FROM claimed ORDER BY due_ts`,
  complete: `
    WITH fired AS (
      UPDATE :SCHEMA:.timers SET fired_at = now(), claimed_until = NULL
      WHERE id = ANY($1::text[]) AND fired_at IS NULL
    ), pruned AS (
      DELETE FROM :SCHEMA:.timers WHERE id IN (
        SELECT id FROM :SCHEMA:.timers WHERE fired_at < now() - $2 * interval '1 millisecond' ORDER BY fired_at LIMIT 100
      )
    )
    SELECT 1`,
  nextDueIn: `
    SELECT date_part('epoch', min(due_at) - now()) * 1000 AS ms
    FROM :SCHEMA:.timers
    WHERE fired_at IS NULL AND (claimed_until IS NULL OR claimed_until <= now())`,
  // Sets aside timers whose payload cannot be decoded ($1 ids, $2 reasons), one
  // record.quarantined event each (transitions.quarantinedEvent, raw capped at 4 KB).
  quarantine: `
    WITH bad AS (
      UPDATE :SCHEMA:.timers t SET fired_at = now(), claimed_until = NULL
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS b(id, reason, i)
      WHERE t.id = ANY($1::text[]) AND t.id = b.id AND t.fired_at IS NULL
      RETURNING t.id, t.payload, b.reason, b.i
    )
    INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
    SELECT ${SEQ('b.i - 1')}, gen_random_uuid()::text, 'record.quarantined', date_trunc('milliseconds', now()),
      NULL, NULL, NULL, NULL, json_build_object('kind', 'timer', 'recordId', b.id, 'reason', b.reason, 'raw', left(b.payload, 4096))::text
    FROM bad b`,
};

interface Bad {
  id: string;
  reason: string;
}

export class PostgresTimerStore implements TimerStore {
  private readonly q: Record<keyof typeof TIMER_SQL, Statement>;
  private readonly dynamic = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly firedRetentionMs: number,
  ) {
    this.q = Object.fromEntries(Object.entries(TIMER_SQL).map(([k, text]) => [k, db.statement(text)])) as Record<keyof typeof TIMER_SQL, Statement>;
  }

  schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    return this.db.run('timers.schedule', async () => {
      if (timers.length === 0) return [];
      const scalars = JSON.stringify(
        timers.map((t) => ({ id: t.id, kind: t.kind, delay_ms: Math.max(0, t.delayMs), key: t.key, task_id: t.taskId, phase_id: t.phaseId, name: t.name })),
      );
      const inserted = await this.decode(await this.db.query(this.q.schedule, [scalars, texts(timers.map((t) => jsonText(t.payload ?? null)))]));
      const byId = new Map(inserted.map((t) => [t.id, t]));
      const byKey = new Map<string, TimerRecord>();
      for (const t of inserted) if (t.key !== null) byKey.set(t.key, t);
      const missing = timers.filter((t) => !byId.has(t.id));
      if (missing.length > 0) {
        const keys = missing.flatMap((t) => (t.key === null ? [] : [t.key]));
        for (const t of await this.decode(await this.db.query(this.q.existing, [keys, missing.map((t) => t.id)]))) {
          if (t.key !== null && !byKey.has(t.key)) byKey.set(t.key, t);
          if (!byId.has(t.id)) byId.set(t.id, t);
        }
      }
      return timers.map((t) => {
        const found = (t.key !== null ? byKey.get(t.key) : undefined) ?? byId.get(t.id);
        if (!found) throw new BackendError(`timers.schedule: timer ${t.id} was neither stored nor found (removed concurrently); schedule it again.`);
        return found;
      });
    });
  }

  claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    return this.db.run('timers.claimDue', async () => {
      if (limit <= 0) return [];
      return this.decode(await this.db.query(this.q.claimDue, [limit, leaseMs]));
    });
  }

  complete(ids: string[]): Promise<void> {
    return this.db.run('timers.complete', async () => {
      if (ids.length === 0) return;
      await this.db.query(this.q.complete, [ids, this.firedRetentionMs]);
    });
  }

  cancel(filter: TimerFilter): Promise<number> {
    return this.db.run('timers.cancel', async () => {
      const { where, values } = filterSql(filter);
      const rows = await this.db.query(this.stmt(`WITH gone AS (DELETE FROM :SCHEMA:.timers t WHERE ${where} RETURNING 1) SELECT count(*)::int AS n FROM gone`), values);
      return Number(rows[0]?.n ?? 0);
    });
  }

  nextDueIn(): Promise<number | null> {
    return this.db.run('timers.nextDueIn', async () => {
      const value = (await this.db.query(this.q.nextDueIn, []))[0]?.ms;
      return typeof value === 'number' ? Math.max(0, Math.ceil(value)) : null;
    });
  }

  list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    return this.db.run('timers.list', async () => {
      if (filter.limit <= 0) return [];
      const { where, values } = filterSql(filter);
      values.push(filter.limit);
      const rows = await this.db.query(this.stmt(`SELECT ${cols('t')} FROM :SCHEMA:.timers t WHERE ${where} ORDER BY t.due_at, t.created_at, t.id LIMIT $${values.length}`), values);
      return this.decode(rows);
    });
  }

  /** The records of `rows`; rows whose payload cannot be decoded are set aside instead. */
  private async decode(rows: PgRow[]): Promise<TimerRecord[]> {
    const out: TimerRecord[] = [];
    const bad: Bad[] = [];
    for (const r of rows) {
      try {
        out.push(toTimer(r, parseJson<JsonValue>(String(r.payload))));
      } catch (err) {
        bad.push({ id: r.id as string, reason: `payload is not JSON (${(err as Error).message})` });
      }
    }
    if (bad.length > 0) {
      await this.db.query(this.q.quarantine, [bad.map((b) => b.id), bad.map((b) => b.reason)]);
      this.db.logger.error({ timers: bad.map((b) => b.id) }, 'timers set aside: their stored payload cannot be decoded');
    }
    return out;
  }

  private stmt(text: string): Statement {
    let s = this.dynamic.get(text);
    if (!s) {
      s = this.db.statement(text);
      this.dynamic.set(text, s);
    }
    return s;
  }
}

function filterSql(filter: TimerFilter): { where: string; values: unknown[] } {
  const where = ['t.fired_at IS NULL'];
  const values: unknown[] = [];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.ids) where.push(`t.id = ANY(${param(filter.ids)}::text[])`);
  if (filter.keys) where.push(`t.key = ANY(${param(filter.keys)}::text[])`);
  if (filter.taskId !== undefined) where.push(`t.task_id = ${param(filter.taskId)}`);
  if (filter.phaseId !== undefined) where.push(`t.phase_id = ${param(filter.phaseId)}`);
  return { where: where.join(' AND '), values };
}

function toTimer(r: PgRow, payload: JsonValue): TimerRecord {
  return {
    id: r.id as string,
    kind: r.kind as TimerKind,
    key: (r.key as string | null) ?? null,
    taskId: (r.task_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    payload,
    dueAt: r.due_at as number,
    createdAt: r.created_at as number,
  };
}
