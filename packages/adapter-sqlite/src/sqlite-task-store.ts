// The SQLite side of TaskStore: baton_tasks plus baton_idempotency_keys. Each call over an array
// is one BEGIN IMMEDIATE transaction; fenced writes match on (id, state 'running', lease_id).
import {
  isTerminal,
  type CreateResult,
  type NewTask,
  type PurgeOptions,
  type RecoverResult,
  type StartClaim,
  type StartResult,
  type StoredError,
  type TaskCount,
  type TaskFilter,
  type TaskOutcome,
  type TaskRecord,
  type TaskState,
  type TaskStore,
  type Usage,
} from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteDatabase, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';
import { pageLimit, StatementCache, WhereBuilder } from './statement-cache.js';
import { jsonOrNull, TASK_COLUMNS, toTaskRecord, type TaskRow } from './task-row.js';

const ACTIVE = "('pending', 'running', 'scheduled')";

interface KeyRow {
  task_id: string;
  expires_at: number;
}

interface PurgeRow {
  rowid: number;
  id: string;
  idempotency_key: string;
  finished_at: number;
}

function prepareStatements(db: SqliteDatabase) {
  const p = (sql: string): SqliteStatement => db.prepare(sql);
  return {
    getKey: p('SELECT task_id, expires_at FROM baton_idempotency_keys WHERE key = ?'),
    putKey: p(
      'INSERT INTO baton_idempotency_keys (key, task_id, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at',
    ),
    insert: p(
      'INSERT INTO baton_tasks (id, type, input, state, idempotency_key, run_id, phase_id, max_retries, budget, created_at, updated_at) ' +
        "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    ),
    get: p(`SELECT ${TASK_COLUMNS} FROM baton_tasks WHERE id = ?`),
    state: p('SELECT state FROM baton_tasks WHERE id = ?').pluck(),
    start: p(
      "UPDATE baton_tasks SET state = 'running', lease_id = ?, worker_id = ?, started_at = ?, updated_at = ? " +
        `WHERE id = ? AND state = 'pending' RETURNING ${TASK_COLUMNS}`,
    ),
    // An outcome without a result or error keeps the stored one (a completed retry still shows why it failed before).
    finish: p(
      'UPDATE baton_tasks SET state = ?, attempt = attempt + ?, result = coalesce(?, result), error = coalesce(?, error), ' +
        'duration_ms = coalesce(?, duration_ms), lease_id = NULL, worker_id = NULL, finished_at = ?, updated_at = ? ' +
        "WHERE id = ? AND state = 'running' AND lease_id = ?",
    ),
    heldRecoveries: p("SELECT recoveries FROM baton_tasks WHERE id = ? AND state = 'running' AND lease_id = ?").pluck(),
    recover: p(
      'UPDATE baton_tasks SET state = ?, recoveries = recoveries + 1, error = coalesce(?, error), ' +
        'lease_id = NULL, worker_id = NULL, finished_at = ?, updated_at = ? WHERE id = ?',
    ),
    transition: p(
      'UPDATE baton_tasks SET state = ?, lease_id = NULL, worker_id = NULL, finished_at = ?, error = coalesce(?, error), updated_at = ? ' +
        'WHERE id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING id',
    ).pluck(),
    usage: p(
      'UPDATE baton_tasks SET usage_cost_usd = usage_cost_usd + ?, usage_tokens = usage_tokens + ?, updated_at = ? ' +
        "WHERE id = ? AND state = 'running' AND lease_id = ? RETURNING usage_cost_usd, usage_tokens",
    ),
    cancelPhase: p(
      "UPDATE baton_tasks SET state = 'cancelled', lease_id = NULL, worker_id = NULL, finished_at = ?, updated_at = ? " +
        `WHERE phase_id = ? AND state IN ${ACTIVE} RETURNING id`,
    ).pluck(),
    counts: p('SELECT phase_id, state, count(*) AS count FROM baton_tasks GROUP BY phase_id, state'),
    // The (keep+1)-th newest finished task of a state: it and everything older exceed keepLatest.
    keepBound: p(
      'SELECT rowid, finished_at FROM baton_tasks WHERE state = ? AND finished_at IS NOT NULL ' +
        'ORDER BY finished_at DESC, rowid DESC LIMIT 1 OFFSET ?',
    ),
    purgeOlder: p(
      'SELECT rowid, id, idempotency_key, finished_at FROM baton_tasks WHERE state = ? AND finished_at < ? ORDER BY finished_at, rowid LIMIT ?',
    ),
    purgeUpTo: p(
      'SELECT rowid, id, idempotency_key, finished_at FROM baton_tasks WHERE state = @state AND finished_at <= @finishedAt ' +
        'AND (finished_at < @finishedAt OR rowid <= @rowid) ORDER BY finished_at, rowid LIMIT @limit',
    ),
    deleteTask: p('DELETE FROM baton_tasks WHERE rowid = ?'),
    deleteCheckpoint: p('DELETE FROM baton_checkpoints WHERE task_id = ?'),
    deleteKeyOf: p('DELETE FROM baton_idempotency_keys WHERE key = ? AND task_id = ?'),
    deleteExpiredKeys: p(
      'DELETE FROM baton_idempotency_keys WHERE key IN (SELECT key FROM baton_idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

export class SqliteTaskStore implements TaskStore {
  private readonly s: Statements;
  private readonly filters: StatementCache;
  /** @internal composed into SqliteFlow's transactions. */
  readonly createTx: SqliteTransaction<(tasks: NewTask[]) => CreateResult[]>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly startTx: SqliteTransaction<(claims: StartClaim[]) => StartResult[]>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly finishTx: SqliteTransaction<(outcomes: TaskOutcome[]) => boolean[]>;
  private readonly recoverTx: SqliteTransaction<(refs: { taskId: string; leaseId: string }[], max: number) => RecoverResult[]>;
  private readonly transitionTx: SqliteTransaction<(ids: string[], from: TaskState[], to: TaskState, error: StoredError | undefined) => string[]>;
  private readonly usageTx: SqliteTransaction<(taskId: string, leaseId: string, delta: Usage) => Usage | null>;
  private readonly cancelTx: SqliteTransaction<(phaseId: string) => string[]>;
  private readonly purgeTx: SqliteTransaction<(options: PurgeOptions) => number>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.s = prepareStatements(db);
    const s = this.s;

    this.createTx = transaction(db, (tasks: NewTask[]) => {
      const now = ctx.now();
      const getKey = s.getKey;
      const putKey = s.putKey;
      const insert = s.insert;
      return tasks.map((t): CreateResult => {
        const key = getKey.get(t.idempotencyKey) as KeyRow | undefined;
        if (key !== undefined && key.expires_at > now) return { id: key.task_id, duplicate: true };
        const created =
          insert.run(t.id, t.type, JSON.stringify(t.input ?? null), t.idempotencyKey, t.runId, t.phaseId, t.maxRetries, jsonOrNull(t.budget), now, now)
            .changes > 0;
        // An id that already exists means this create already happened (a retried call).
        if (created) putKey.run(t.idempotencyKey, t.id, now + Math.max(0, t.keyTtlMs));
        return { id: t.id, duplicate: !created };
      });
    });
    this.startTx = transaction(db, (claims: StartClaim[]) => {
      const now = ctx.now();
      const start = s.start;
      const state = s.state;
      return claims.map((c): StartResult => {
        const row = start.get(c.leaseId, c.workerId, now, now, c.taskId) as TaskRow | undefined;
        if (row !== undefined) return { taskId: c.taskId, task: toTaskRecord(row) };
        return { taskId: c.taskId, task: null, state: (state.get(c.taskId) as TaskState | undefined) ?? null };
      });
    });
    this.finishTx = transaction(db, (outcomes: TaskOutcome[]) => {
      const now = ctx.now();
      const finish = s.finish;
      return outcomes.map((o) => {
        const terminal = o.state === 'completed' || o.state === 'dead';
        return (
          finish.run(
            o.state,
            o.state === 'scheduled' ? 1 : 0,
            jsonOrNull(o.result),
            o.error === undefined ? null : JSON.stringify(o.error),
            o.durationMs ?? null,
            terminal ? now : null,
            now,
            o.taskId,
            o.leaseId,
          ).changes > 0
        );
      });
    });
    this.recoverTx = transaction(db, (refs: { taskId: string; leaseId: string }[], max: number) => {
      const now = ctx.now();
      const held = s.heldRecoveries;
      const recover = s.recover;
      return refs.map((r): RecoverResult => {
        const recoveries = held.get(r.taskId, r.leaseId) as number | undefined;
        if (recoveries === undefined) return 'skipped';
        if (recoveries + 1 > max) {
          recover.run('dead', JSON.stringify(poisonPill(recoveries + 1, max)), now, now, r.taskId);
          return 'dead';
        }
        recover.run('pending', null, null, now, r.taskId);
        return 'recovered';
      });
    });
    this.transitionTx = transaction(db, (ids: string[], from: TaskState[], to: TaskState, error: StoredError | undefined) => {
      const now = ctx.now();
      const transition = s.transition;
      const fromJson = JSON.stringify(from);
      const errorJson = error === undefined ? null : JSON.stringify(error);
      const finishedAt = isTerminal(to) ? now : null;
      const moved: string[] = [];
      for (const id of new Set(ids)) {
        const got = transition.get(to, finishedAt, errorJson, now, id, fromJson) as string | undefined;
        if (got !== undefined) moved.push(got);
      }
      return moved;
    });
    this.usageTx = transaction(db, (taskId: string, leaseId: string, delta: Usage) => {
      const row = s.usage.get(delta.costUsd, delta.tokens, ctx.now(), taskId, leaseId) as
        | { usage_cost_usd: number; usage_tokens: number }
        | undefined;
      return row === undefined ? null : { costUsd: row.usage_cost_usd, tokens: row.usage_tokens };
    });
    this.cancelTx = transaction(db, (phaseId: string) => {
      const now = ctx.now();
      return s.cancelPhase.all(now, now, phaseId) as string[];
    });
    this.purgeTx = transaction(db, (o: PurgeOptions) => this.purgeIn(o));
  }

  async create(tasks: NewTask[]): Promise<CreateResult[]> {
    this.ctx.assertOpen();
    if (tasks.length === 0) return [];
    try {
      return this.createTx.immediate(tasks);
    } catch (err) {
      throw this.ctx.error('tasks.create', err);
    }
  }

  async get(id: string): Promise<TaskRecord | null> {
    this.ctx.assertOpen();
    try {
      const row = this.s.get.get(id) as TaskRow | undefined;
      return row === undefined ? null : toTaskRecord(row);
    } catch (err) {
      throw this.ctx.error('tasks.get', err);
    }
  }

  async list(filter: TaskFilter): Promise<TaskRecord[]> {
    this.ctx.assertOpen();
    const limit = pageLimit(filter.limit);
    if (limit === 0 || filter.ids?.length === 0 || filter.states?.length === 0) return [];
    const where = new WhereBuilder();
    if (filter.ids !== undefined) where.addIn('i', 'id', filter.ids);
    if (filter.states !== undefined) {
      if (filter.states.length === 1) where.add('s', 'state = ?', filter.states[0]);
      else where.addIn('S', 'state', filter.states);
    }
    if (filter.type !== undefined) where.add('t', 'type = ?', filter.type);
    if (filter.runId !== undefined) where.add('r', 'run_id = ?', filter.runId);
    if (filter.phaseId !== undefined) where.add('p', 'phase_id = ?', filter.phaseId);
    try {
      if (filter.idleForMs !== undefined) where.add('u', 'updated_at <= ?', this.ctx.now() - Math.max(0, filter.idleForMs));
      const stmt = this.filters.get(where.shape, () => `SELECT ${TASK_COLUMNS} FROM baton_tasks${where.sql()} ORDER BY rowid LIMIT ?`);
      return (stmt.all(...where.params, limit) as TaskRow[]).map(toTaskRecord);
    } catch (err) {
      throw this.ctx.error('tasks.list', err);
    }
  }

  async counts(): Promise<TaskCount[]> {
    this.ctx.assertOpen();
    try {
      return (this.s.counts.all() as { phase_id: string | null; state: TaskState; count: number }[]).map((r) => ({
        phaseId: r.phase_id,
        state: r.state,
        count: r.count,
      }));
    } catch (err) {
      throw this.ctx.error('tasks.counts', err);
    }
  }

  async start(claims: StartClaim[]): Promise<StartResult[]> {
    this.ctx.assertOpen();
    if (claims.length === 0) return [];
    try {
      return this.startTx.immediate(claims);
    } catch (err) {
      throw this.ctx.error('tasks.start', err);
    }
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    this.ctx.assertOpen();
    if (outcomes.length === 0) return [];
    try {
      return this.finishTx.immediate(outcomes);
    } catch (err) {
      throw this.ctx.error('tasks.finish', err);
    }
  }

  async recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]> {
    this.ctx.assertOpen();
    if (refs.length === 0) return [];
    try {
      return this.recoverTx.immediate(refs, maxRecoveries);
    } catch (err) {
      throw this.ctx.error('tasks.recover', err);
    }
  }

  async transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]> {
    this.ctx.assertOpen();
    if (ids.length === 0 || from.length === 0) return [];
    try {
      return this.transitionTx.immediate(ids, from, to, error);
    } catch (err) {
      throw this.ctx.error('tasks.transition', err);
    }
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    this.ctx.assertOpen();
    try {
      return this.usageTx.immediate(taskId, leaseId, { costUsd: delta.costUsd ?? 0, tokens: delta.tokens ?? 0 });
    } catch (err) {
      throw this.ctx.error('tasks.recordUsage', err);
    }
  }

  async cancelPhase(phaseId: string): Promise<string[]> {
    this.ctx.assertOpen();
    try {
      return this.cancelTx.immediate(phaseId);
    } catch (err) {
      throw this.ctx.error('tasks.cancelPhase', err);
    }
  }

  async purge(options: PurgeOptions): Promise<number> {
    this.ctx.assertOpen();
    if (options.limit <= 0) return 0;
    try {
      return this.purgeTx.immediate(options);
    } catch (err) {
      throw this.ctx.error('tasks.purge', err);
    }
  }

  /**
   * Both retention rules select a prefix of the state's tasks ordered by (finished_at, rowid), so
   * their union is the longer prefix: one indexed range scan instead of an OR over the table.
   */
  private purgeIn(o: PurgeOptions): number {
    const s = this.s;
    const now = this.ctx.now();
    const ageCutoff = now - Math.max(0, o.olderThanMs);
    const bound = s.keepBound.get(o.state, Math.max(0, Math.floor(o.keepLatest))) as { rowid: number; finished_at: number } | undefined;
    const limit = Math.floor(o.limit);
    const rows = (
      bound !== undefined && bound.finished_at >= ageCutoff
        ? s.purgeUpTo.all({ state: o.state, finishedAt: bound.finished_at, rowid: bound.rowid, limit })
        : s.purgeOlder.all(o.state, ageCutoff, limit)
    ) as PurgeRow[];
    for (const row of rows) {
      s.deleteTask.run(row.rowid);
      s.deleteCheckpoint.run(row.id);
      // The key would name a task that no longer exists: let the next create with it start afresh.
      s.deleteKeyOf.run(row.idempotency_key, row.id);
    }
    // Expired keys are dead weight; sweep a bounded number alongside task retention.
    s.deleteExpiredKeys.run(now, limit);
    return rows.length;
  }
}

function poisonPill(recoveries: number, max: number): StoredError {
  return {
    name: 'PoisonPillError',
    message: `Task was reclaimed after a stall ${recoveries} times, more than maxRecoveries (${max}); it is dead as a poison pill. Inspect what crashes its workers, then re-run it.`,
    code: 'POISON_PILL',
    stack: null,
  };
}
