// TaskStore on MySQL. Each write is one transaction: lock the task rows (FOR UPDATE), apply
// core's transitions, write back what changed and append the write's events, so a change and
// its audit record commit together or not at all (`atomicEvents`). Reads never throw on bad
// bytes: an undecodable row is quarantined where it is found.
import {
  ValidationError,
  isTerminal,
  newId,
  orderCursor,
  transitions,
  type Audited,
  type CountBy,
  type CreateResult,
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
import { NOW_MS, list, num, str, strOrNull, type Db, type Row, type Sql } from './mysql-db.js';
import { FULL_COLUMNS, applyBatch, appendTaskEvents, decodeAll, fullTask, lockTasks, publicTask, quarantine, writeBack, type StoredTask, type TaskEvents } from './task-rows.js';

export class MysqlTaskStore implements TaskStore {
  constructor(private readonly db: Db) {}

  create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    if (tasks.length === 0) return Promise.resolve([]);
    return this.db.run('tasks.create', (sql) => this.createIn(sql, tasks, options?.events), options?.transaction);
  }

  /**
   * Creates tasks in `sql`'s transaction. Keys are claimed first (INSERT … ON DUPLICATE KEY
   * UPDATE, which moves a key only once it expired): concurrent creates of one key serialise
   * on its row, and exactly one of them finds the key mapping to its own task.
   */
  async createIn(sql: Sql, tasks: readonly NewTask[], events: readonly (readonly NewEvent[] | undefined)[] | undefined): Promise<CreateResult[]> {
    const db = this.db;
    const firstOfKey = new Map<string, NewTask>();
    for (const t of tasks) if (!firstOfKey.has(t.idempotencyKey)) firstOfKey.set(t.idempotencyKey, t);
    const unique = [...firstOfKey.values()];
    // The server clock inline (one statement, one instant): no extra round trip for `now`.
    // Sorted by key: concurrent batches lock keys in one order and cannot deadlock on them.
    const byKey = [...unique].sort((a, b) => (a.idempotencyKey < b.idempotencyKey ? -1 : a.idempotencyKey > b.idempotencyKey ? 1 : 0));
    await sql.exec(
      `INSERT INTO ${db.t('idempotency_keys')} (k, task_id, expires_at) VALUES ${byKey.map(() => `(?, ?, ${NOW_MS} + ?)`).join(', ')}
       ON DUPLICATE KEY UPDATE task_id = IF(expires_at <= ${NOW_MS}, VALUES(task_id), task_id), expires_at = IF(expires_at <= ${NOW_MS}, VALUES(expires_at), expires_at)`,
      byKey.flatMap((t) => [t.idempotencyKey, t.id, t.keyTtlMs]),
    );
    // Which task each key maps to now, and whether that task exists already (a retried create whose first attempt committed).
    const keys = await sql.rows(
      `SELECT k.k, k.task_id, t.id IS NOT NULL AS existing FROM ${db.t('idempotency_keys')} k LEFT JOIN ${db.t('tasks')} t ON t.id = k.task_id
       WHERE k.k IN ${list(unique.length)}`,
      unique.map((t) => t.idempotencyKey),
    );
    const holder = new Map(keys.map((r) => [str(r.k), str(r.task_id)]));
    const there = new Set(keys.filter((r) => num(r.existing) === 1).map((r) => str(r.task_id)));
    const winners = unique.filter((t) => holder.get(t.idempotencyKey) === t.id && !there.has(t.id));
    const created = new Set(winners);
    if (winners.length > 0) {
      const values: unknown[] = [];
      for (const t of tasks) {
        if (!created.has(t)) continue;
        values.push(t.id, t.type, t.queue, t.priority, t.group, JSON.stringify(t.input), t.idempotencyKey, t.runId, t.phaseId, t.maxRetries);
        values.push(t.budget === null ? null : JSON.stringify(t.budget), t.traceContext === null ? null : JSON.stringify(t.traceContext));
      }
      await sql.exec(
        `INSERT INTO ${db.t('tasks')} (id, type, queue, priority, grp, input, idempotency_key, run_id, phase_id, max_retries, budget, trace_context, created_at, updated_at, state)
         VALUES ${winners.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ${NOW_MS}, 'pending')`).join(', ')}`,
        values,
      );
    }
    const batch: TaskEvents = [];
    const results = tasks.map((t, i): CreateResult => {
      if (created.has(t)) {
        created.delete(t);
        batch.push({ task: t, events: events?.[i] });
        return { id: t.id, duplicate: false };
      }
      return { id: holder.get(t.idempotencyKey) ?? t.id, duplicate: true };
    });
    await appendTaskEvents(db, sql, batch);
    return results;
  }

  async get(id: string): Promise<TaskRecord | null> {
    const rows = await this.db.auto('tasks.get', (sql) => sql.rows(`SELECT ${FULL_COLUMNS} FROM ${this.db.t('tasks')} WHERE id = ?`, [id]));
    if (rows.length === 0) return null;
    const [task] = await decodeAll(this.db, rows);
    return publicTask(task!);
  }

  async list(q: TaskQuery): Promise<TaskPage> {
    let after = 0;
    if (q.cursor !== undefined) {
      const decoded = orderCursor.decode(q.cursor);
      if (decoded === null) throw new ValidationError(`tasks.list: invalid page cursor ${JSON.stringify(q.cursor.slice(0, 40))}; pass back a cursor a previous page returned.`);
      after = decoded;
    }
    if (q.limit <= 0) return { tasks: [], cursor: null };
    const where = ['seq > ?'];
    const values: unknown[] = [after];
    const add = (cond: string, ...v: unknown[]) => {
      where.push(cond);
      values.push(...v);
    };
    if (q.ids !== undefined) {
      if (q.ids.length === 0) return { tasks: [], cursor: null };
      add(`id IN ${list(q.ids.length)}`, ...q.ids);
    }
    if (q.states !== undefined) add(`state IN ${list(q.states.length)}`, ...q.states);
    if (q.type !== undefined) add('type = ?', q.type);
    if (q.queue !== undefined) add('queue = ?', q.queue);
    if (q.runId !== undefined) add('run_id = ?', q.runId);
    if (q.phaseId !== undefined) add('phase_id = ?', q.phaseId);
    if (q.since !== undefined) add('created_at >= ?', q.since);
    if (q.until !== undefined) add('created_at < ?', q.until);
    if (q.idleForMs !== undefined) add(`updated_at <= ${NOW_MS} - ?`, q.idleForMs);
    // One row ahead: a page that holds the last match says so with a null cursor.
    const rows = await this.db.auto('tasks.list', (sql) =>
      sql.rows(`SELECT ${FULL_COLUMNS} FROM ${this.db.t('tasks')} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, [...values, q.limit + 1]),
    );
    const more = rows.length > q.limit;
    const tasks = await decodeAll(this.db, rows.slice(0, q.limit));
    return { tasks: tasks.map(publicTask), cursor: more ? orderCursor.encode(tasks[tasks.length - 1]!.seq) : null };
  }

  async counts(by: CountBy): Promise<TaskCount[]> {
    const column = by === 'phase' ? 'phase_id' : by === 'queue' ? 'queue' : 'type';
    const rows = await this.db.auto('tasks.counts', (sql) =>
      sql.rows(`SELECT ${column} AS k, state, COUNT(*) AS n, MIN(updated_at) AS oldest FROM ${this.db.t('tasks')} GROUP BY ${column}, state`),
    );
    return rows.map((r) => ({ key: strOrNull(r.k), state: String(r.state) as TaskState, count: num(r.n), oldestUpdatedAt: num(r.oldest) }));
  }

  start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    if (claims.length === 0) return Promise.resolve([]);
    return this.db.run('tasks.start', (sql) => this.startIn(sql, claims, options?.startedEvents === true));
  }

  /** `start` in `sql`'s transaction (also the second half of claimAndStart). */
  async startIn(sql: Sql, claims: readonly StartClaim[], startedEvents: boolean): Promise<StartResult[]> {
    const rows = await lockTasks(this.db, sql, claims.map((c) => c.taskId), FULL_COLUMNS);
    const current = new Map<string, StoredTask>();
    const now = await sql.now();
    const results: StartResult[] = [];
    const changes = new Map<string, { prev: StoredTask; next: StoredTask }>();
    const events: TaskEvents = [];
    for (const r of rows) {
      const { task, found } = fullTask(r);
      if (found === null) current.set(task.id, task);
      else {
        // Quarantined here, in the claim's transaction: the batch goes on without it.
        const q = await quarantine(this.db, sql, task, found);
        current.set(task.id, q.task);
        if (q.now) results.push({ taskId: task.id, task: null, state: 'dead', corrupt: found });
      }
    }
    const reported = new Map(results.map((r) => [r.taskId, r]));
    const out = claims.map((c): StartResult => {
      const early = reported.get(c.taskId);
      if (early !== undefined) {
        reported.delete(c.taskId);
        return early;
      }
      const cur = current.get(c.taskId);
      if (cur === undefined) return { taskId: c.taskId, task: null, state: null };
      const next = transitions.start(cur, c.leaseId, c.workerId, now);
      if (next === null) return cur.state === 'running' ? { taskId: c.taskId, task: null, state: 'running', leaseId: cur.leaseId } : { taskId: c.taskId, task: null, state: cur.state };
      changes.set(c.taskId, { prev: changes.get(c.taskId)?.prev ?? cur, next });
      current.set(c.taskId, next);
      if (startedEvents) events.push({ task: next, events: [transitions.startedEvent(next, newId())] });
      return { taskId: c.taskId, task: publicTask(next) };
    });
    await writeBack(this.db, sql, [...changes.values()]);
    await appendTaskEvents(this.db, sql, events);
    return out;
  }

  finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return Promise.resolve([]);
    return this.db.run('tasks.finish', (sql) => this.finishIn(sql, outcomes));
  }

  async finishIn(sql: Sql, outcomes: readonly TaskOutcome[]): Promise<boolean[]> {
    const out = await applyBatch(this.db, sql, outcomes, (o) => o.taskId, (cur, o, now) => ({ next: transitions.finish(cur, o, now), events: o.events }));
    return out.map((r) => r !== null);
  }

  heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.db.run('tasks.heartbeat', (sql) => this.heartbeatIn(sql, refs));
  }

  async heartbeatIn(sql: Sql, refs: readonly LeaseRef[]): Promise<boolean[]> {
    const out = await applyBatch(this.db, sql, refs, (r) => r.taskId, (cur, r, now) => ({ next: transitions.heartbeat(cur, r.leaseId, now) }));
    return out.map((r) => r !== null);
  }

  async recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (items.length === 0) return [];
    const out = await this.db.run('tasks.recover', (sql) =>
      applyBatch(this.db, sql, items, (i) => i.taskId, (cur, i, now) => {
        const next = transitions.recover(cur, i.leaseId, maxRecoveries, i.poisonPill, now);
        return { next, events: next?.state === 'dead' ? i.deadEvents : i.recoveredEvents };
      }),
    );
    return out.map((r): RecoverResult => (r === null ? 'skipped' : r.state === 'dead' ? 'dead' : 'recovered'));
  }

  async transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    if (ids.length === 0) return [];
    const items = ids.map((id, i) => ({ id, events: options?.events?.[i] }));
    const out = await this.db.run('tasks.transition', (sql) =>
      applyBatch(this.db, sql, items, (x) => x.id, (cur, x, now) => ({ next: transitions.transition(cur, from, to, now, options?.error), events: x.events })),
    );
    return ids.filter((_, i) => out[i] !== null);
  }

  async retry(ids: string[], options: RetryOptions): Promise<string[]> {
    if (ids.length === 0) return [];
    const items = ids.map((id, i) => ({ id, events: options.events?.[i] }));
    const out = await this.db.run('tasks.retry', (sql) =>
      applyBatch(this.db, sql, items, (x) => x.id, (cur, x, now) => ({ next: transitions.retry(cur, options.resetAttempts, now), events: x.events })),
    );
    return ids.filter((_, i) => out[i] !== null);
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    const [next] = await this.db.run('tasks.recordUsage', (sql) => applyBatch(this.db, sql, [taskId], (id) => id, (cur) => ({ next: transitions.addUsage(cur, leaseId, delta) })));
    return next ? { costUsd: next.usage.costUsd, tokens: next.usage.tokens } : null;
  }

  async setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    const [next] = await this.db.run('tasks.setProgress', (sql) =>
      applyBatch(this.db, sql, [taskId], (id) => id, (cur) => ({ next: transitions.setProgress(cur, leaseId, progress), events: options?.events })),
    );
    return next !== null && next !== undefined;
  }

  async purge(o: PurgeOptions): Promise<number> {
    if (o.limit <= 0) return 0;
    return this.db.run('tasks.purge', async (sql) => {
      const t = this.db.t('tasks');
      const now = await sql.now();
      // The newest task beyond the kept `keepLatest`: it and everything older may go.
      const [edge] = await sql.rows(`SELECT finished_at, seq FROM ${t} WHERE state = ? ORDER BY finished_at DESC, seq DESC LIMIT 1 OFFSET ?`, [o.state, o.keepLatest]);
      // Both conditions select a prefix of (finished_at, seq) order: only the oldest `limit` rows matter.
      const oldest = await sql.rows(`SELECT id, finished_at, seq FROM ${t} WHERE state = ? ORDER BY finished_at, seq LIMIT ? FOR UPDATE SKIP LOCKED`, [o.state, o.limit]);
      const beyond = (r: Row) =>
        edge !== undefined && (num(r.finished_at) < num(edge.finished_at) || (num(r.finished_at) === num(edge.finished_at) && num(r.seq) <= num(edge.seq)));
      const victims = oldest.filter((r) => beyond(r) || num(r.finished_at) < now - o.olderThanMs).map((r) => str(r.id));
      await this.removeIn(sql, victims);
      // Expired idempotency keys go with the retention pass: nothing else reads them.
      await sql.exec(`DELETE FROM ${this.db.t('idempotency_keys')} WHERE expires_at < ? LIMIT ?`, [now, o.limit]);
      return victims.length;
    });
  }

  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.run('tasks.delete', async (sql) => {
      const rows = await lockTasks(this.db, sql, ids);
      const finished = rows.filter((r) => isTerminal(String(r.state) as TaskState)).map((r) => str(r.id));
      await this.removeIn(sql, finished);
      return finished.length;
    });
  }

  /** Deletes tasks with their checkpoints and the key mappings that still point at them. */
  private async removeIn(sql: Sql, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const into = list(ids.length);
    await sql.exec(`DELETE FROM ${this.db.t('checkpoints')} WHERE task_id IN ${into}`, ids);
    await sql.exec(`DELETE FROM ${this.db.t('idempotency_keys')} WHERE task_id IN ${into}`, ids);
    await sql.exec(`DELETE FROM ${this.db.t('tasks')} WHERE id IN ${into}`, ids);
  }
}
