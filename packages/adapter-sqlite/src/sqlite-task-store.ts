// The SQLite side of TaskStore: baton_tasks plus baton_idempotency_keys. Each call over an array
// is one BEGIN IMMEDIATE transaction; fenced writes match on (id, state 'running', lease_id).
// Events handed to a write are inserted in that same transaction iff the write applied, under the
// task's run and phase (`atomicEvents`). A row that cannot be decoded is quarantined where it is
// found — by get, list or start — and costs only that task.
import {
  ValidationError,
  eventId,
  isTerminal,
  newId,
  orderCursor,
  transitions,
  type Audited,
  type CountBy,
  type CreateResult,
  type Corruption,
  type JsonValue,
  type LeaseRef,
  type NewEvent,
  type NewTask,
  type PurgeOptions,
  type RecoverItem,
  type RecoverResult,
  type RetryOptions,
  type StartClaim,
  type StartResult,
  type TaskCount,
  type TaskOutcome,
  type TaskPage,
  type TaskQuery,
  type TaskRecord,
  type TaskState,
  type TaskStore,
  type TransitionOptions,
  type Usage,
  type WriteOptions,
} from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteEventLog } from './sqlite-event-log.js';
import { prepareTaskSql, type TaskSql } from './sqlite-task-sql.js';
import { StatementCache, WhereBuilder } from './statement-cache.js';
import { decodeTask, jsonOrNull, TASK_COLUMNS, type DecodedTask, type TaskRow } from './task-row.js';

type Events = readonly (readonly NewEvent[] | undefined)[] | undefined;
type Scope = { run_id: string | null; phase_id: string | null } | undefined;

/** A decoded row that must be quarantined now: a column is undecodable and the task is not already dead for it. */
const needsQuarantine = (row: TaskRow, d: DecodedTask): boolean => d.broken !== null && !(row.state === 'dead' && d.record.corruption !== null);

export class SqliteTaskStore implements TaskStore {
  private readonly s: TaskSql;
  private readonly filters: StatementCache;

  constructor(
    private readonly ctx: SqliteContext,
    private readonly events: SqliteEventLog,
  ) {
    const db = ctx.db;
    this.filters = new StatementCache(db);
    this.s = prepareTaskSql(db);
  }

  create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    return this.ctx.run('tasks.create', () => (tasks.length === 0 ? [] : this.ctx.write(() => this.createIn(tasks, options?.events))));
  }

  /** @internal `create` inside the caller's transaction (also the first half of createAndEnqueue). */
  createIn(tasks: readonly NewTask[], events: Events): CreateResult[] {
    const s = this.s;
    const now = this.ctx.now();
    return tasks.map((t, i): CreateResult => {
      const key = s.getKey.get(t.idempotencyKey) as { task_id: string; expires_at: number } | undefined;
      if (key !== undefined && key.expires_at > now) return { id: key.task_id, duplicate: true };
      const input = JSON.stringify(t.input);
      const trace = jsonOrNull(t.traceContext);
      const created =
        s.insert.run(t.id, t.type, t.queue, t.priority, t.group, input, t.idempotencyKey, t.runId, t.phaseId, t.maxRetries, jsonOrNull(t.budget), trace, now, now).changes > 0;
      // An id that already exists means this create already happened (a retried call).
      if (!created) return { id: t.id, duplicate: true };
      s.putKey.run(t.idempotencyKey, t.id, now + t.keyTtlMs);
      this.events.appendIn(events?.[i], t.runId, t.phaseId);
      return { id: t.id, duplicate: false };
    });
  }

  get(id: string): Promise<TaskRecord | null> {
    return this.ctx.run('tasks.get', () => {
      const row = this.s.get.get(id) as TaskRow | undefined;
      if (row === undefined) return null;
      const d = decodeTask(row);
      return needsQuarantine(row, d) ? (this.quarantine([id]).get(id) ?? null) : d.record;
    });
  }

  list(query: TaskQuery): Promise<TaskPage> {
    return this.ctx.run('tasks.list', () => {
      const where = new WhereBuilder();
      if (query.cursor !== undefined) {
        const after = orderCursor.decode(query.cursor);
        if (after === null) throw new ValidationError(`Invalid task page cursor ${JSON.stringify(query.cursor.slice(0, 40))}: pass back a cursor a previous page returned.`);
        where.add('c', 'rowid > ?', after);
      }
      if (query.limit === 0) return { tasks: [], cursor: null };
      if (query.ids !== undefined) where.addIn('i', 'id', query.ids);
      if (query.states !== undefined) {
        if (query.states.length === 1) where.add('s', 'state = ?', query.states[0]);
        else where.addIn('S', 'state', query.states);
      }
      if (query.type !== undefined) where.add('t', 'type = ?', query.type);
      if (query.queue !== undefined) where.add('q', 'queue = ?', query.queue);
      if (query.runId !== undefined) where.add('r', 'run_id = ?', query.runId);
      if (query.phaseId !== undefined) where.add('p', 'phase_id = ?', query.phaseId);
      if (query.since !== undefined) where.add('f', 'created_at >= ?', query.since);
      if (query.until !== undefined) where.add('u', 'created_at < ?', query.until);
      if (query.idleForMs !== undefined) where.add('d', 'updated_at <= ?', this.ctx.now() - query.idleForMs);
      const stmt = this.filters.get(where.shape, () => `SELECT rowid AS rn, ${TASK_COLUMNS} FROM baton_tasks${where.sql()} ORDER BY rowid LIMIT ?`);
      // One row past the page tells whether another page follows.
      const rows = stmt.all(...where.params, query.limit + 1) as (TaskRow & { rn: number })[];
      const more = rows.length > query.limit;
      if (more) rows.pop();
      const decoded = rows.map(decodeTask);
      const broken = rows.filter((row, i) => needsQuarantine(row, decoded[i]!)).map((row) => row.id);
      const fixed = broken.length > 0 ? this.quarantine(broken) : undefined;
      const tasks = decoded.map((d) => fixed?.get(d.record.id) ?? d.record);
      return { tasks, cursor: more ? orderCursor.encode(rows[rows.length - 1]!.rn) : null };
    });
  }

  counts(by: CountBy): Promise<TaskCount[]> {
    // A caller built against the v1 port passes no key (the bench does): count by phase, as v1 did.
    const stmt = Object.hasOwn(this.s.counts, by) ? this.s.counts[by] : this.s.counts.phase;
    return this.ctx.run('tasks.counts', () =>
      (stmt.all() as { key: string | null; state: TaskState; count: number; oldest: number }[]).map((r) => ({
        key: r.key,
        state: r.state,
        count: r.count,
        oldestUpdatedAt: r.oldest,
      })),
    );
  }

  start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    return this.ctx.run('tasks.start', () => (claims.length === 0 ? [] : this.ctx.write(() => this.startIn(claims, options?.startedEvents === true))));
  }

  /**
   * @internal `start` inside the caller's transaction (also the second half of claimAndStart). The
   * record is read and decoded before it is written, so a corrupt one is quarantined exactly as
   * transitions.quarantine defines (never half-started) and a started one is transitions.start's.
   */
  startIn(claims: readonly StartClaim[], startedEvents: boolean): StartResult[] {
    const s = this.s;
    const now = this.ctx.now();
    return claims.map((c): StartResult => {
      const row = s.get.get(c.taskId) as TaskRow | undefined;
      if (row === undefined) return { taskId: c.taskId, task: null, state: null };
      const { record, corrupt } = this.settle(row, decodeTask(row), now);
      if (corrupt !== null) return { taskId: c.taskId, task: null, state: record.state, corrupt };
      const next = transitions.start(record, c.leaseId, c.workerId, now);
      // A claimer holding the task's delivery learns which stale lease it still runs under.
      if (next === null) return record.state === 'running' ? { taskId: c.taskId, task: null, state: 'running', leaseId: record.leaseId } : { taskId: c.taskId, task: null, state: record.state };
      s.start.run(c.leaseId, c.workerId, now, now, now, c.taskId);
      if (startedEvents) this.events.appendIn([transitions.startedEvent(next, eventId())], next.runId, next.phaseId);
      return { taskId: c.taskId, task: next };
    });
  }

  finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    return this.ctx.run('tasks.finish', () => (outcomes.length === 0 ? [] : this.ctx.write(() => this.finishIn(outcomes))));
  }

  /** @internal `finish` inside the caller's transaction (also the first half of finishAndSettle). */
  finishIn(outcomes: readonly TaskOutcome[]): boolean[] {
    const finish = this.s.finish;
    const now = this.ctx.now();
    return outcomes.map((o) => {
      const scope = finish.get({
        id: o.taskId,
        leaseId: o.leaseId,
        state: o.state,
        now,
        result: o.state === 'completed' ? jsonOrNull(o.result) : null,
        error: o.error === undefined ? null : JSON.stringify(o.error),
        durationMs: o.durationMs ?? null,
      }) as Scope;
      return this.applied(scope, o.events);
    });
  }

  heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    return this.ctx.run('tasks.heartbeat', () => (refs.length === 0 ? [] : this.ctx.write(() => this.heartbeatIn(refs))));
  }

  /** @internal `heartbeat` inside the caller's transaction (the second half of the flow's heartbeat). */
  heartbeatIn(refs: readonly LeaseRef[]): boolean[] {
    const now = this.ctx.now();
    return refs.map((r) => this.s.heartbeat.run({ id: r.taskId, leaseId: r.leaseId, now }).changes > 0);
  }

  recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    return this.ctx.run('tasks.recover', () =>
      this.ctx.write(() => {
        const now = this.ctx.now();
        return items.map((item): RecoverResult => {
          const row = this.s.recover.get({ id: item.taskId, leaseId: item.leaseId, now, max: maxRecoveries, poisonPill: JSON.stringify(item.poisonPill) }) as
            | { state: TaskState; run_id: string | null; phase_id: string | null }
            | undefined;
          if (row === undefined) return 'skipped';
          const dead = row.state === 'dead';
          this.events.appendIn(dead ? item.deadEvents : item.recoveredEvents, row.run_id, row.phase_id);
          return dead ? 'dead' : 'recovered';
        });
      }),
    );
  }

  transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    return this.ctx.run('tasks.transition', () =>
      this.ctx.write(() => {
        const now = this.ctx.now();
        const params = { to, now, error: options?.error === undefined ? null : JSON.stringify(options.error), terminal: isTerminal(to) ? 1 : 0, from: JSON.stringify(from), id: '' };
        return ids.filter((id, i) => {
          params.id = id;
          return this.applied(this.s.transition.get(params) as Scope, options?.events?.[i]);
        });
      }),
    );
  }

  retry(ids: string[], options: RetryOptions): Promise<string[]> {
    return this.ctx.run('tasks.retry', () =>
      this.ctx.write(() => {
        const params = { now: this.ctx.now(), reset: options.resetAttempts ? 1 : 0, id: '' };
        return ids.filter((id, i) => {
          params.id = id;
          return this.applied(this.s.retry.get(params) as Scope, options.events?.[i]);
        });
      }),
    );
  }

  recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    return this.ctx.run('tasks.recordUsage', () => {
      const row = this.s.usage.get({ id: taskId, leaseId, costUsd: delta.costUsd, tokens: delta.tokens }) as { usage_cost_usd: number; usage_tokens: number } | undefined;
      return row === undefined ? null : { costUsd: row.usage_cost_usd, tokens: row.usage_tokens };
    });
  }

  setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    return this.ctx.run('tasks.setProgress', () =>
      this.ctx.write(() => this.applied(this.s.progress.get({ id: taskId, leaseId, progress: jsonOrNull(progress) }) as Scope, options?.events)),
    );
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.ctx.run('tasks.purge', () => (options.limit <= 0 ? 0 : this.ctx.write(() => this.purgeIn(options))));
  }

  delete(ids: string[]): Promise<number> {
    return this.ctx.run('tasks.delete', () =>
      this.ctx.write(() => {
        const s = this.s;
        let n = 0;
        for (const id of ids) {
          const key = s.deleteFinished.get(id) as string | undefined;
          if (key === undefined) continue;
          s.deleteCheckpoint.run(id);
          s.deleteKeyOf.run(key, id);
          n++;
        }
        return n;
      }),
    );
  }

  /** Appends a write's events iff it applied (`scope` is the task's run and phase, read by the write). */
  private applied(scope: Scope, events: readonly NewEvent[] | undefined): boolean {
    if (scope === undefined) return false;
    this.events.appendIn(events, scope.run_id, scope.phase_id);
    return true;
  }

  /** Re-reads the rows under the write lock and quarantines those still undecodable; the records by id. */
  private quarantine(ids: readonly string[]): Map<string, TaskRecord> {
    return this.ctx.write(() => {
      const out = new Map<string, TaskRecord>();
      const now = this.ctx.now();
      for (const id of ids) {
        const row = this.s.get.get(id) as TaskRow | undefined;
        if (row !== undefined) out.set(id, this.settle(row, decodeTask(row), now).record);
      }
      return out;
    });
  }

  /**
   * The record of a decoded row. When a column could not be decoded, quarantines the task first
   * (transitions.quarantine, one task.corrupt event) — unless it is already dead for it — and
   * returns the quarantined record with the corruption it found. Runs inside a write transaction.
   */
  private settle(row: TaskRow, d: DecodedTask, now: number): { record: TaskRecord; corrupt: Corruption | null } {
    if (!needsQuarantine(row, d)) return { record: d.record, corrupt: null };
    const found = d.broken!;
    const next = transitions.quarantine(d.record, found, now);
    this.s.quarantine.run({ id: row.id, now, error: JSON.stringify(next.error), corruption: JSON.stringify(found) });
    this.events.appendIn([transitions.corruptEvent(next, found, newId(), now)], next.runId, next.phaseId);
    return { record: next, corrupt: found };
  }

  /**
   * Both retention rules select a prefix of the state's tasks ordered by (finished_at, rowid), so
   * their union is the longer prefix: one indexed range scan instead of an OR over the table.
   */
  private purgeIn(o: PurgeOptions): number {
    const s = this.s;
    const now = this.ctx.now();
    const ageCutoff = now - o.olderThanMs;
    const bound = s.keepBound.get(o.state, o.keepLatest) as { rowid: number; finished_at: number } | undefined;
    const rows = (
      bound !== undefined && bound.finished_at >= ageCutoff
        ? s.purgeUpTo.all({ state: o.state, finishedAt: bound.finished_at, rowid: bound.rowid, limit: o.limit })
        : s.purgeOlder.all(o.state, ageCutoff, o.limit)
    ) as { rowid: number; id: string; idempotency_key: string }[];
    for (const row of rows) {
      s.deleteRow.run(row.rowid);
      s.deleteCheckpoint.run(row.id);
      // The key would name a task that no longer exists: let the next create with it start afresh.
      s.deleteKeyOf.run(row.idempotency_key, row.id);
    }
    // Expired keys are dead weight; sweep a bounded number alongside task retention.
    s.deleteExpiredKeys.run(now, o.limit);
    return rows.length;
  }
}
