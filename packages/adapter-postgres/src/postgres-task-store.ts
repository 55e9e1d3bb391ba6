// The PostgreSQL side of TaskStore: task rows and their state machine. Every batch is one
// statement; every lease-holder write is fenced by `lease_id` in its WHERE clause, so a worker
// that lost its lease changes nothing.
import type {
  CreateResult,
  NewTask,
  PurgeOptions,
  RecoverResult,
  StartClaim,
  StartResult,
  StoredError,
  TaskCount,
  TaskFilter,
  TaskOutcome,
  TaskRecord,
  TaskState,
  TaskStore,
  Usage,
  WriteOptions,
} from '@baton/core';
import type { Db, Statement } from './db.js';
import type { Notifier } from './notifier.js';
import type { PgRow } from './pg-types.js';
import { taskColumns, toTask } from './rows.js';

// Statements that find tasks by an id array test the state through this opaque form, so the
// planner cannot pair the state index with the primary key (a bitmap AND that reads every
// running task): the ids alone pick the rows, whatever the statistics say.
export const stateIs = (t: string, value: string) => `(${t}.state || '') = ${value}`;

/** How an outcome rewrites its task row (`o` is the outcome, `t` the row); shared with finishAndSettle. */
export const OUTCOME_SET = `
        state = o.state,
        result = CASE WHEN o.state IN ('completed', 'dead') THEN o.result ELSE t.result END,
        error = CASE WHEN o.state = 'pending' THEN t.error ELSE o.error END,
        duration_ms = coalesce(o.duration_ms, t.duration_ms),
        attempt = t.attempt + CASE WHEN o.state = 'scheduled' THEN 1 ELSE 0 END,
        lease_id = NULL,
        updated_at = now(),
        finished_at = CASE WHEN o.state IN ('completed', 'dead') THEN now() END`;

const sql = (channel: string) => ({
  // delay_ms null: create only (TaskStore.create); a number: also enqueue with that delay in the
  // same row write (TaskFlow.createAndEnqueue).
  create: `
    WITH input AS (
      SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (
        id text, type text, input jsonb, key text, ttl_ms float8, run_id text, phase_id text, max_retries int, budget jsonb, delay_ms float8
      )) WITH ORDINALITY AS x(id, type, input, key, ttl_ms, run_id, phase_id, max_retries, budget, delay_ms, ord)
    ), claimed AS (
      INSERT INTO :SCHEMA:.idempotency_keys AS k (key, task_id, expires_at)
      SELECT key, id, clock_timestamp() + ttl_ms * interval '1 millisecond' FROM input ORDER BY ord
      ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at
        WHERE k.expires_at <= clock_timestamp()
      RETURNING k.key, k.task_id
    ), created AS (
      INSERT INTO :SCHEMA:.tasks (id, type, input, idempotency_key, run_id, phase_id, max_retries, budget, q_ready_at)
      SELECT i.id, i.type, coalesce(i.input, 'null'::jsonb), i.key, i.run_id, i.phase_id, i.max_retries, i.budget,
             statement_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM input i JOIN claimed c ON c.key = i.key AND c.task_id = i.id
      ORDER BY i.ord
      RETURNING q_ready_at IS NOT NULL AS queued
    ), announced AS (
      SELECT pg_notify('${channel}', '') FROM created WHERE queued LIMIT 1
    )
    SELECT i.ord, c.task_id AS created,
           CASE WHEN c.task_id IS NULL THEN (SELECT k.task_id FROM :SCHEMA:.idempotency_keys k WHERE k.key = i.key) END AS existing,
           (SELECT count(*) FROM announced) AS announced
    FROM input i LEFT JOIN claimed c ON c.key = i.key
    ORDER BY i.ord`,
  // A concurrent create committed the key after our statement's snapshot: read it now.
  existingKeys: `SELECT key, task_id FROM :SCHEMA:.idempotency_keys WHERE key = ANY($1::text[])`,
  get: `SELECT ${taskColumns('t')} FROM :SCHEMA:.tasks t WHERE t.id = $1`,
  counts: `SELECT phase_id, state, count(*)::int AS n FROM :SCHEMA:.tasks GROUP BY phase_id, state`,
  start: `
    UPDATE :SCHEMA:.tasks t
    SET state = 'running', lease_id = c.lease_id, worker_id = c.worker_id, started_at = now(), updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::text[]) AS c(task_id, lease_id, worker_id)
    WHERE t.id = ANY($1::text[]) AND t.id = c.task_id AND ${stateIs('t', `'pending'`)}
    RETURNING ${taskColumns('t')}`,
  states: `SELECT id, state FROM :SCHEMA:.tasks WHERE id = ANY($1::text[])`,
  finish: `
    WITH o AS (
      SELECT * FROM json_to_recordset($1::json) AS o(task_id text, lease_id text, state text, result jsonb, error jsonb, duration_ms float8)
    )
    UPDATE :SCHEMA:.tasks t
    SET ${OUTCOME_SET}
    FROM o
    WHERE t.id = ANY($2::text[]) AND t.id = o.task_id AND t.lease_id = o.lease_id AND ${stateIs('t', `'running'`)}
    RETURNING t.id AS task_id, o.lease_id`,
  recover: `
    WITH moved AS (
      UPDATE :SCHEMA:.tasks t
      SET state = CASE WHEN t.recoveries + 1 > $3 THEN 'dead' ELSE 'pending' END,
          recoveries = t.recoveries + 1,
          lease_id = NULL,
          updated_at = now(),
          finished_at = CASE WHEN t.recoveries + 1 > $3 THEN now() END,
          -- A dead task's (reclaimed, unleased) delivery would only be claimed to be thrown away.
          q_ready_at = CASE WHEN t.recoveries + 1 > $3 AND t.q_lease_id IS NULL THEN NULL ELSE t.q_ready_at END,
          error = CASE WHEN t.recoveries + 1 > $3 THEN jsonb_build_object(
            'name', 'PoisonPillError',
            'message', format('Task was reclaimed %s times after its worker stopped heartbeating (maxRecoveries %s); it is dead as a poison pill. Find why its workers crash or stall, then re-run it.', t.recoveries + 1, $3),
            'code', 'POISON_PILL',
            'stack', NULL) ELSE t.error END
      FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
      WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.lease_id = r.lease_id AND ${stateIs('t', `'running'`)}
      RETURNING t.id, t.state
    )
    SELECT id, state FROM moved`,
  transition: `
    UPDATE :SCHEMA:.tasks t
    SET state = $3::text, lease_id = NULL, updated_at = now(),
        finished_at = CASE WHEN $3::text IN ('completed', 'dead', 'cancelled') THEN now() END,
        error = coalesce($4::jsonb, t.error)
    WHERE t.id = ANY($1::text[]) AND ${stateIs('t', 'ANY($2::text[])')}
    RETURNING t.id`,
  recordUsage: `
    UPDATE :SCHEMA:.tasks
    SET cost_usd = cost_usd + $3, tokens = tokens + $4, updated_at = now()
    WHERE id = $1 AND lease_id = $2 AND state = 'running'
    RETURNING cost_usd, tokens`,
  cancelPhase: `
    UPDATE :SCHEMA:.tasks
    SET state = 'cancelled', lease_id = NULL, updated_at = now(), finished_at = now()
    WHERE phase_id = $1 AND state IN ('pending', 'running', 'scheduled')
    RETURNING id`,
  purge: `
    WITH cutoff AS (
      SELECT finished_at, seq FROM :SCHEMA:.tasks
      WHERE state = $1 AND finished_at IS NOT NULL
      ORDER BY finished_at DESC, seq DESC
      OFFSET $3 LIMIT 1
    ), oldest AS (
      -- Both conditions hold for a prefix of (finished_at, seq) order: look only at the oldest rows.
      SELECT t.id, t.finished_at, t.seq FROM :SCHEMA:.tasks t
      WHERE t.state = $1 AND t.finished_at IS NOT NULL
      ORDER BY t.finished_at, t.seq
      LIMIT $4
      FOR UPDATE SKIP LOCKED
    ), victims AS (
      SELECT o.id FROM oldest o
      WHERE o.finished_at < now() - $2 * interval '1 millisecond'
         OR (o.finished_at, o.seq) <= (SELECT finished_at, seq FROM cutoff)
    ), gone AS (
      DELETE FROM :SCHEMA:.tasks t USING victims v WHERE t.id = v.id RETURNING 1
    )
    SELECT count(*)::int AS n FROM gone`,
  purgeKeys: `
    DELETE FROM :SCHEMA:.idempotency_keys WHERE key IN (
      SELECT key FROM :SCHEMA:.idempotency_keys WHERE expires_at < now() LIMIT $1
    )`,
});

const MAX_LIST = 1000;

type Sql = ReturnType<typeof sql>;

export class PostgresTaskStore implements TaskStore {
  private readonly q: Record<keyof Sql, Statement>;
  private readonly listStatements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
  ) {
    this.q = Object.fromEntries(Object.entries(sql(db.names.channel)).map(([k, text]) => [k, db.statement(`tasks.${k}`, text)])) as Record<keyof Sql, Statement>;
  }

  create(tasks: NewTask[], options?: WriteOptions): Promise<CreateResult[]> {
    return this.createRows(tasks, null, options);
  }

  /** Creates tasks; with `delaysMs`, also enqueues each task it creates (TaskFlow.createAndEnqueue). */
  async createRows(tasks: NewTask[], delaysMs: readonly (number | undefined)[] | null, options?: WriteOptions): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    // One key may appear twice in a batch: the first creates, the rest point at it.
    const firstOfKey = new Map<string, number>();
    const unique: NewTask[] = [];
    const delays: (number | null)[] = [];
    tasks.forEach((t, i) => {
      if (!firstOfKey.has(t.idempotencyKey)) {
        firstOfKey.set(t.idempotencyKey, unique.length);
        unique.push(t);
        delays.push(delaysMs === null ? null : Math.max(0, delaysMs[i] ?? 0));
      }
    });
    const payload = JSON.stringify(
      unique.map((t, i) => ({
        id: t.id,
        type: t.type,
        input: t.input,
        key: t.idempotencyKey,
        ttl_ms: t.keyTtlMs,
        run_id: t.runId,
        phase_id: t.phaseId,
        max_retries: t.maxRetries,
        budget: t.budget,
        delay_ms: delays[i],
      })),
    );
    const rows = await this.db.run(this.q.create, [payload], options);
    if (delaysMs !== null && options?.transaction === undefined && rows.some((r) => r.created !== null)) this.notifier.wake();
    const results: CreateResult[] = rows.map((r) =>
      r.created !== null ? { id: r.created as string, duplicate: false } : { id: (r.existing as string | null) ?? '', duplicate: true },
    );
    const unresolved = results.flatMap((r, i) => (r.id === '' ? [unique[i]?.idempotencyKey ?? ''] : []));
    if (unresolved.length > 0) {
      const found = await this.db.run(this.q.existingKeys, [unresolved], options);
      const byKey = new Map(found.map((r) => [r.key as string, r.task_id as string]));
      results.forEach((r, i) => {
        if (r.id === '') r.id = byKey.get(unique[i]?.idempotencyKey ?? '') ?? '';
      });
    }
    return tasks.map((t) => {
      const first = firstOfKey.get(t.idempotencyKey) ?? 0;
      const res = results[first] ?? { id: '', duplicate: true };
      return unique[first] === t ? res : { id: res.id, duplicate: true };
    });
  }

  async get(id: string): Promise<TaskRecord | null> {
    const rows = await this.db.run(this.q.get, [id]);
    return rows[0] ? toTask(rows[0]) : null;
  }

  async list(filter: TaskFilter): Promise<TaskRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    if (filter.ids) where.push(`t.id = ANY(${param(filter.ids)}::text[])`);
    if (filter.states) where.push(`t.state = ANY(${param(filter.states)}::text[])`);
    if (filter.type !== undefined) where.push(`t.type = ${param(filter.type)}`);
    if (filter.runId !== undefined) where.push(`t.run_id = ${param(filter.runId)}`);
    if (filter.phaseId !== undefined) where.push(`t.phase_id = ${param(filter.phaseId)}`);
    if (filter.idleForMs !== undefined) where.push(`t.updated_at <= now() - ${param(filter.idleForMs)} * interval '1 millisecond'`);
    const limit = Math.min(MAX_LIST, Math.max(0, Math.floor(filter.limit ?? 100)));
    const text = `SELECT ${taskColumns('t')} FROM :SCHEMA:.tasks t ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.seq LIMIT ${param(limit)}`;
    let stmt = this.listStatements.get(text);
    if (!stmt) {
      stmt = this.db.statement('tasks.list', text);
      this.listStatements.set(text, stmt);
    }
    return (await this.db.run(stmt, values)).map(toTask);
  }

  async counts(): Promise<TaskCount[]> {
    const rows = await this.db.run(this.q.counts, []);
    return rows.map((r) => ({ phaseId: (r.phase_id as string | null) ?? null, state: r.state as TaskState, count: r.n as number }));
  }

  async start(claims: StartClaim[]): Promise<StartResult[]> {
    if (claims.length === 0) return [];
    const rows = await this.db.run(this.q.start, [claims.map((c) => c.taskId), claims.map((c) => c.leaseId), claims.map((c) => c.workerId)]);
    const started = new Map(rows.map((r) => [r.id as string, toTask(r)]));
    const others = claims.filter((c) => started.get(c.taskId)?.leaseId !== c.leaseId);
    let states = new Map<string, TaskState>();
    if (others.length > 0) {
      const found = await this.db.run(this.q.states, [others.map((c) => c.taskId)]);
      states = new Map(found.map((r) => [r.id as string, r.state as TaskState]));
    }
    return claims.map((c) => {
      const task = started.get(c.taskId);
      if (task && task.leaseId === c.leaseId) return { taskId: c.taskId, task };
      return { taskId: c.taskId, task: null, state: states.get(c.taskId) ?? null };
    });
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    const payload = JSON.stringify(outcomes.map(outcomeRow));
    const rows = await this.db.run(this.q.finish, [payload, outcomes.map((o) => o.taskId)]);
    return appliedPerOutcome(outcomes, rows);
  }

  async recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (refs.length === 0) return [];
    const rows = await this.db.run(this.q.recover, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId), maxRecoveries]);
    const moved = new Map(rows.map((r) => [r.id as string, r.state as TaskState]));
    return refs.map((r) => {
      const state = moved.get(r.taskId);
      moved.delete(r.taskId);
      return state === 'dead' ? 'dead' : state === 'pending' ? 'recovered' : 'skipped';
    });
  }

  async transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]> {
    if (ids.length === 0 || from.length === 0) return [];
    const rows = await this.db.run(this.q.transition, [ids, from, to, error === undefined ? null : JSON.stringify(error)]);
    return rows.map((r) => r.id as string);
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    const rows = await this.db.run(this.q.recordUsage, [taskId, leaseId, delta.costUsd, delta.tokens]);
    const r = rows[0];
    return r ? { costUsd: r.cost_usd as number, tokens: r.tokens as number } : null;
  }

  async cancelPhase(phaseId: string): Promise<string[]> {
    const rows = await this.db.run(this.q.cancelPhase, [phaseId]);
    return rows.map((r) => r.id as string);
  }

  async purge(options: PurgeOptions): Promise<number> {
    if (options.limit <= 0) return 0;
    const rows = await this.db.run(this.q.purge, [options.state, options.olderThanMs, options.keepLatest, options.limit]);
    // Expired idempotency keys go with the retention pass: nothing else reads them.
    await this.db.run(this.q.purgeKeys, [options.limit]);
    return Number(rows[0]?.n ?? 0);
  }
}

/** Per outcome, whether its (task_id, lease_id) came back from the fenced update. */
/** An outcome as the finish statements' `json_to_recordset` reads it. */
export function outcomeRow(o: TaskOutcome) {
  return {
    task_id: o.taskId,
    lease_id: o.leaseId,
    state: o.state,
    result: o.result === undefined ? null : o.result,
    error: o.error ?? null,
    duration_ms: o.durationMs ?? null,
  };
}

export function appliedPerOutcome(outcomes: { taskId: string; leaseId: string }[], rows: PgRow[]): boolean[] {
  const applied = new Set(rows.map((r) => `${r.lease_id as string}\u0000${r.task_id as string}`));
  return outcomes.map((o) => applied.has(`${o.leaseId}\u0000${o.taskId}`));
}
