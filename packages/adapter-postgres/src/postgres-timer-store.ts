// The PostgreSQL side of TimerStore: durable timers due by the database clock. claimDue hides
// a timer from other claimers until `claimed_until` (SKIP LOCKED, so many timer services can
// run); complete() stamps `fired_at`, and fired timers are pruned after a retention period.
import { BackendError, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core';
import type { Db, Statement } from './db.js';
import type { PgRow } from './pg-types.js';
import { json, ms } from './rows.js';

const cols = (t: string) =>
  `${t}.id, ${t}.kind, ${t}.key, ${t}.task_id, ${t}.phase_id, ${t}.name, ${t}.payload::text AS payload,
   ${ms(`${t}.due_at`)} AS due_at, ${ms(`${t}.created_at`)} AS created_at`;

export const TIMER_SQL = {
  schedule: `
    WITH input AS (
      SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (
        id text, kind text, delay_ms float8, key text, task_id text, phase_id text, name text, payload jsonb
      )) WITH ORDINALITY AS x(id, kind, delay_ms, key, task_id, phase_id, name, payload, ord)
    ), ins AS (
      INSERT INTO :SCHEMA:.timers AS t (id, kind, key, task_id, phase_id, name, payload, due_at)
      SELECT id, kind, key, task_id, phase_id, name, coalesce(payload, 'null'::jsonb), clock_timestamp() + delay_ms * interval '1 millisecond'
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
};

export class PostgresTimerStore implements TimerStore {
  private readonly q: Record<keyof typeof TIMER_SQL, Statement>;
  private readonly dynamic = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly firedRetentionMs: number,
  ) {
    this.q = Object.fromEntries(Object.entries(TIMER_SQL).map(([k, text]) => [k, db.statement(`timers.${k}`, text)])) as Record<keyof typeof TIMER_SQL, Statement>;
  }

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return [];
    const payload = JSON.stringify(
      timers.map((t) => ({
        id: t.id,
        kind: t.kind,
        delay_ms: Math.max(0, t.delayMs),
        key: t.key,
        task_id: t.taskId,
        phase_id: t.phaseId,
        name: t.name,
        payload: t.payload === undefined ? null : t.payload,
      })),
    );
    const inserted = (await this.db.run(this.q.schedule, [payload])).map(toTimer);
    const byId = new Map(inserted.map((t) => [t.id, t]));
    const missing = timers.filter((t) => !byId.has(t.id));
    const byKey = new Map<string, TimerRecord>();
    for (const t of inserted) if (t.key !== null) byKey.set(t.key, t);
    if (missing.length > 0) {
      const keys = missing.flatMap((t) => (t.key === null ? [] : [t.key]));
      const rows = (await this.db.run(this.q.existing, [keys, missing.map((t) => t.id)])).map(toTimer);
      for (const t of rows) {
        if (t.key !== null && !byKey.has(t.key)) byKey.set(t.key, t);
        if (!byId.has(t.id)) byId.set(t.id, t);
      }
    }
    return timers.map((t) => {
      const found = (t.key !== null ? byKey.get(t.key) : undefined) ?? byId.get(t.id);
      if (!found) throw new BackendError(`timers.schedule: timer ${t.id} was neither stored nor found (removed concurrently); schedule it again.`);
      return found;
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (limit <= 0) return [];
    return (await this.db.run(this.q.claimDue, [limit, leaseMs])).map(toTimer);
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.run(this.q.complete, [ids, this.firedRetentionMs]);
  }

  async cancel(filter: TimerFilter): Promise<number> {
    const { where, values } = filterSql(filter);
    const rows = await this.db.run(this.stmt('timers.cancel', `WITH gone AS (DELETE FROM :SCHEMA:.timers t WHERE ${where} RETURNING 1) SELECT count(*)::int AS n FROM gone`), values);
    return Number(rows[0]?.n ?? 0);
  }

  async nextDueIn(): Promise<number | null> {
    const value = (await this.db.run(this.q.nextDueIn, []))[0]?.ms;
    return typeof value === 'number' ? Math.max(0, Math.ceil(value)) : null;
  }

  async list(filter: TimerFilter): Promise<TimerRecord[]> {
    const { where, values } = filterSql(filter);
    return (await this.db.run(this.stmt('timers.list', `SELECT ${cols('t')} FROM :SCHEMA:.timers t WHERE ${where} ORDER BY t.due_at, t.id`), values)).map(toTimer);
  }

  private stmt(op: string, text: string): Statement {
    let s = this.dynamic.get(text);
    if (!s) {
      s = this.db.statement(op, text);
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

function toTimer(r: PgRow): TimerRecord {
  return {
    id: r.id as string,
    kind: r.kind as TimerKind,
    key: (r.key as string | null) ?? null,
    taskId: (r.task_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    payload: json(r.payload) ?? null,
    dueAt: r.due_at as number,
    createdAt: r.created_at as number,
  };
}
