// The PostgreSQL side of TaskStore: task rows and their state machine (task-statements.ts), every
// batch one statement that also appends the events handed to it. Rows are decoded one by one: a
// row whose stored JSON cannot be read is quarantined (dead, CORRUPT_RECORD, raw text kept, one
// task.corrupt event) and returned as such, while every other row of the batch flows on.
import {
  ValidationError,
  newId,
  orderCursor,
  transitions,
  type Audited,
  type CountBy,
  type Corruption,
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
import { texts, type Db, type Statement } from './db.js';
import { eventParams, fromMs } from './event-rows.js';
import type { Notifier } from './notifier.js';
import type { PgRow } from './pg-types.js';
import { decodeTask, jsonText, taskColumns } from './task-rows.js';
import { taskSql } from './task-statements.js';
import type { Vacuum } from './vacuum.js';

type Sql = ReturnType<typeof taskSql>;
type Key = Exclude<keyof Sql, 'counts'>;

const COUNT_KEYS: Record<CountBy, string> = { phase: 'phase_id', queue: 'queue', type: 'type' };

export class PostgresTaskStore implements TaskStore {
  private readonly q: Record<Key, Statement>;
  private readonly countStatements: Record<CountBy, Statement>;
  private readonly listStatements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly vacuum: Vacuum,
  ) {
    const sql = taskSql(db.names.channel);
    const { counts, ...rest } = sql;
    this.q = Object.fromEntries(Object.entries(rest).map(([k, text]) => [k, db.statement(text)])) as Record<Key, Statement>;
    this.countStatements = { phase: db.statement(counts(COUNT_KEYS.phase)), queue: db.statement(counts(COUNT_KEYS.queue)), type: db.statement(counts(COUNT_KEYS.type)) };
  }

  create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    return this.db.run('tasks.create', () => this.createRows(tasks, null, options, options?.events));
  }

  /** Creates tasks; with `delaysMs`, also enqueues each task it creates (TaskFlow.createAndEnqueue). Call inside `db.run`. */
  async createRows(
    tasks: readonly NewTask[],
    delaysMs: readonly (number | undefined)[] | null,
    options: WriteOptions | undefined,
    events: readonly (readonly NewEvent[] | undefined)[] | undefined,
  ): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    // One key may appear twice in a batch: the first creates, the rest point at it.
    const firstOfKey = new Map<string, number>();
    const unique: NewTask[] = [];
    const uniqueEvents: (readonly NewEvent[] | undefined)[] = [];
    const delays: (number | null)[] = [];
    tasks.forEach((t, i) => {
      if (firstOfKey.has(t.idempotencyKey)) return;
      firstOfKey.set(t.idempotencyKey, unique.length);
      unique.push(t);
      uniqueEvents.push(events?.[i]);
      delays.push(delaysMs === null ? null : Math.max(0, delaysMs[i] ?? 0));
    });
    const scalars = JSON.stringify(
      unique.map((t, i) => ({
        id: t.id,
        type: t.type,
        queue: t.queue,
        priority: t.priority,
        group_key: t.group,
        key: t.idempotencyKey,
        ttl_ms: t.keyTtlMs,
        run_id: t.runId,
        phase_id: t.phaseId,
        max_retries: t.maxRetries,
        budget: t.budget,
        delay_ms: delays[i],
      })),
    );
    const inputs = texts(unique.map((t) => jsonText(t.input)));
    const traces = texts(unique.map((t) => (t.traceContext === null ? '' : jsonText(t.traceContext))));
    const rows = await this.db.query(this.q.create, [scalars, inputs, traces, ...eventParams(uniqueEvents)], options);
    if (delaysMs !== null && options?.transaction === undefined) {
      for (const q of new Set(unique.filter((_, i) => rows[i]?.created !== null).map((t) => t.queue))) this.notifier.wake(q);
    }
    const results: CreateResult[] = rows.map((r) =>
      r.created !== null ? { id: r.created as string, duplicate: false } : { id: (r.existing as string | null) ?? '', duplicate: true },
    );
    const unresolved = results.flatMap((r, i) => (r.id === '' ? [unique[i]!.idempotencyKey] : []));
    if (unresolved.length > 0) {
      const found = await this.db.query(this.q.existingKeys, [unresolved], options);
      const byKey = new Map(found.map((r) => [r.key as string, r.task_id as string]));
      results.forEach((r, i) => {
        if (r.id === '') r.id = byKey.get(unique[i]!.idempotencyKey) ?? '';
      });
    }
    return tasks.map((t) => {
      const first = firstOfKey.get(t.idempotencyKey)!;
      const res = results[first]!;
      return unique[first] === t ? res : { id: res.id, duplicate: true };
    });
  }

  get(id: string): Promise<TaskRecord | null> {
    return this.db.run('tasks.get', async () => {
      const row = (await this.db.query(this.q.get, [id]))[0];
      return row === undefined ? null : (await this.read(row)).task;
    });
  }

  list(query: TaskQuery): Promise<TaskPage> {
    return this.db.run('tasks.list', async () => {
      let after = 0;
      if (query.cursor !== undefined) {
        const decoded = orderCursor.decode(query.cursor);
        if (decoded === null) throw new ValidationError(`tasks.list: invalid task page cursor ${JSON.stringify(query.cursor.slice(0, 40))}: pass back a cursor a previous page returned.`);
        after = decoded;
      }
      if (query.limit <= 0) return { tasks: [], cursor: null };
      const where: string[] = [];
      const values: unknown[] = [];
      const param = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      if (query.ids !== undefined) where.push(`t.id = ANY(${param(query.ids)}::text[])`);
      if (query.states !== undefined) where.push(`t.state = ANY(${param(query.states)}::text[])`);
      if (query.type !== undefined) where.push(`t.type = ${param(query.type)}`);
      if (query.queue !== undefined) where.push(`t.queue = ${param(query.queue)}`);
      if (query.runId !== undefined) where.push(`t.run_id = ${param(query.runId)}`);
      if (query.phaseId !== undefined) where.push(`t.phase_id = ${param(query.phaseId)}`);
      if (query.since !== undefined) where.push(`t.created_at >= ${fromMs(`${param(query.since)}::float8`)}`);
      if (query.until !== undefined) where.push(`t.created_at < ${fromMs(`${param(query.until)}::float8`)}`);
      if (query.idleForMs !== undefined) where.push(`t.updated_at <= now() - ${param(query.idleForMs)}::float8 * interval '1 millisecond'`);
      where.push(`t.seq > ${param(after)}`);
      // One row ahead: whether this page holds the last match.
      const text = `SELECT ${taskColumns('t')}, t.seq FROM :SCHEMA:.tasks t WHERE ${where.join(' AND ')} ORDER BY t.seq LIMIT ${param(query.limit + 1)}`;
      let stmt = this.listStatements.get(text);
      if (stmt === undefined) {
        stmt = this.db.statement(text);
        this.listStatements.set(text, stmt);
      }
      const rows = await this.db.query(stmt, values);
      const page = rows.slice(0, query.limit);
      const tasks: TaskRecord[] = [];
      for (const r of page) tasks.push((await this.read(r)).task);
      const more = rows.length > query.limit;
      return { tasks, cursor: more ? orderCursor.encode(Number(page[page.length - 1]!.seq)) : null };
    });
  }

  counts(by: CountBy): Promise<TaskCount[]> {
    return this.db.run('tasks.counts', async () => {
      // `by` is required; a caller of the v1 port (the bench harness) passes none: count by phase as v1 did.
      const rows = await this.db.query(this.countStatements[by] ?? this.countStatements.phase, []);
      return rows.map((r) => ({ key: (r.key as string | null) ?? null, state: r.state as TaskState, count: r.n as number, oldestUpdatedAt: r.oldest as number }));
    });
  }

  start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    return this.db.run('tasks.start', async () => {
      if (claims.length === 0) return [];
      const rows = await this.db.query(this.q.start, [claims.map((c) => c.taskId), claims.map((c) => c.leaseId), claims.map((c) => c.workerId), options?.startedEvents === true]);
      return this.startResults(rows, 'claim_id');
    });
  }

  /**
   * What a start (or a claim that starts) answers per row: the started task; or, when the started
   * row cannot be decoded, the task quarantined just now (`corrupt`); or where the task is (and
   * the lease a running one holds). Rows decode synchronously; only a corrupt one costs a write.
   */
  async startResults(rows: readonly PgRow[], idColumn: string): Promise<StartResult[]> {
    const out: StartResult[] = [];
    let corrupt: number[] | null = null;
    for (const r of rows) {
      const taskId = r[idColumn] as string;
      if (r.started !== true) {
        const state = (r.prior_state as TaskState | null) ?? null;
        out.push(state === 'running' ? { taskId, task: null, state, leaseId: (r.prior_lease as string | null) ?? null } : { taskId, task: null, state });
        continue;
      }
      const decoded = decodeTask(r);
      if (needsQuarantine(decoded.task, decoded.found)) (corrupt ??= []).push(out.length);
      out.push({ taskId, task: decoded.task });
    }
    for (const i of corrupt ?? []) {
      const { task, corrupt: found } = await this.read(rows[i]!);
      out[i] = found === null ? { taskId: task.id, task: null, state: task.state } : { taskId: task.id, task: null, state: task.state, corrupt: found };
    }
    return out;
  }

  finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    return this.db.run('tasks.finish', async () => {
      if (outcomes.length === 0) return [];
      const rows = await this.db.query(this.q.finish, [...outcomeParams(outcomes), outcomes.map((o) => o.taskId), ...eventParams(outcomes.map((o) => o.events))]);
      return appliedOncePerRef(outcomes, rows);
    });
  }

  heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    return this.db.run('tasks.heartbeat', async () => {
      if (refs.length === 0) return [];
      return appliedPerRef(refs, await this.db.query(this.q.heartbeat, [refs.map((r) => r.taskId), refs.map((r) => r.leaseId)]));
    });
  }

  recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    return this.db.run('tasks.recover', async () => {
      if (items.length === 0) return [];
      const [evMeta, evData] = recoverEventParams(items);
      const rows = await this.db.query(this.q.recover, [
        JSON.stringify(items.map((i) => ({ task_id: i.taskId, lease_id: i.leaseId }))),
        texts(items.map((i) => jsonText(i.poisonPill))),
        maxRecoveries,
        items.map((i) => i.taskId),
        evMeta,
        evData,
      ]);
      const results: RecoverResult[] = items.map(() => 'skipped');
      for (const r of rows) results[Number(r.i) - 1] = r.state === 'dead' ? 'dead' : 'recovered';
      return results;
    });
  }

  transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    return this.db.run('tasks.transition', async () => {
      if (ids.length === 0 || from.length === 0) return [];
      const error = options?.error === undefined ? null : jsonText(options.error);
      const rows = await this.db.query(this.q.transition, [ids, from, to, error, ...eventParams(options?.events)]);
      return rows.map((r) => r.id as string);
    });
  }

  retry(ids: string[], options: RetryOptions): Promise<string[]> {
    return this.db.run('tasks.retry', async () => {
      if (ids.length === 0) return [];
      const rows = await this.db.query(this.q.retry, [ids, options.resetAttempts, ...eventParams(options.events)]);
      return rows.map((r) => r.id as string);
    });
  }

  recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    return this.db.run('tasks.recordUsage', async () => {
      const r = (await this.db.query(this.q.recordUsage, [taskId, leaseId, delta.costUsd, delta.tokens]))[0];
      return r === undefined ? null : { costUsd: r.cost_usd as number, tokens: r.tokens as number };
    });
  }

  setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    return this.db.run('tasks.setProgress', async () => {
      const rows = await this.db.query(this.q.setProgress, [taskId, leaseId, jsonText(progress), ...eventParams(options?.events === undefined ? undefined : [options.events])]);
      return Number(rows[0]?.n ?? 0) > 0;
    });
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.db.run('tasks.purge', async () => {
      if (options.limit <= 0) return 0;
      const rows = await this.db.query(this.q.purge, [options.state, options.olderThanMs, options.keepLatest, options.limit]);
      // Expired idempotency keys go with the retention pass: nothing else reads them.
      await this.db.query(this.q.purgeKeys, [options.limit]);
      this.vacuum.after(['tasks', 'idempotency_keys']);
      return Number(rows[0]?.n ?? 0);
    });
  }

  delete(ids: string[]): Promise<number> {
    return this.db.run('tasks.delete', async () => {
      if (ids.length === 0) return 0;
      return Number((await this.db.query(this.q.delete, [ids]))[0]?.n ?? 0);
    });
  }

  /**
   * Decodes a row; one that cannot be decoded is quarantined now (`corrupt` set) unless it
   * already is. Returns the record as stored afterwards.
   */
  private async read(r: PgRow): Promise<{ task: TaskRecord; corrupt: Corruption | null }> {
    const { task, found } = decodeTask(r);
    if (!needsQuarantine(task, found)) return { task, corrupt: null };
    const error = transitions.corruptRecordError(task.id, found);
    const event = transitions.corruptEvent(task, found, newId(), Date.now());
    const rows = await this.db.query(this.q.quarantine, [task.id, jsonText(error), jsonText(found), event.id, jsonText(event.data)]);
    this.db.logger.error({ taskId: task.id, field: found.field, reason: found.reason }, 'task quarantined: its stored record cannot be decoded');
    if (rows[0] !== undefined) return { task: decodeTask(rows[0]).task, corrupt: found };
    // Another reader quarantined it first: report it as stored.
    const again = (await this.db.query(this.q.get, [task.id]))[0];
    return { task: again === undefined ? task : decodeTask(again).task, corrupt: null };
  }
}

/** A row with an undecodable field is quarantined, unless it already is (dead with its corruption kept). */
function needsQuarantine(task: TaskRecord, found: Corruption | null): found is Corruption {
  return found !== null && !(task.state === 'dead' && task.corruption !== null);
}

/** $1-$3 of the finish statements: scalars, result texts, error texts ('' = none given). */
export function outcomeParams(outcomes: readonly TaskOutcome[], extra?: (o: TaskOutcome, i: number) => object): [string, string, string] {
  return [
    JSON.stringify(outcomes.map((o, i) => ({ task_id: o.taskId, lease_id: o.leaseId, state: o.state, duration_ms: o.durationMs ?? null, ...extra?.(o, i) }))),
    texts(outcomes.map((o) => jsonText(o.result ?? null))),
    texts(outcomes.map((o) => (o.error === undefined ? '' : jsonText(o.error)))),
  ];
}

/** Per ref, whether its (task_id, lease_id) came back from the fenced statement (extend, heartbeat: a repeat applies again). */
export function appliedPerRef(refs: readonly LeaseRef[], rows: PgRow[]): boolean[] {
  const applied = new Set(rows.map((r) => `${r.lease_id as string}\u0000${r.task_id as string}`));
  return refs.map((o) => applied.has(`${o.leaseId}\u0000${o.taskId}`));
}

/**
 * For a statement that ends the lease (ack, release, finish): a row answers one ref, the first
 * that names it — a ref repeated in the batch finds the lease gone, as it would one call later.
 */
export function appliedOncePerRef(refs: readonly LeaseRef[], rows: PgRow[]): boolean[] {
  const applied = new Set(rows.map((r) => `${r.lease_id as string}\u0000${r.task_id as string}`));
  return refs.map((o) => applied.delete(`${o.leaseId}\u0000${o.taskId}`));
}

/** Recover's events: each item's recovered and dead lists, tagged 'pending' and 'dead'. */
function recoverEventParams(items: readonly RecoverItem[]): [string, string] {
  const lists: (NewEvent[] | undefined)[] = [];
  const kinds: string[] = [];
  const index: number[] = [];
  items.forEach((item, i) => {
    for (const [kind, events] of [['pending', item.recoveredEvents], ['dead', item.deadEvents]] as const) {
      if (events === undefined || events.length === 0) continue;
      lists.push(events);
      kinds.push(kind);
      index.push(i);
    }
  });
  return eventParams(lists, kinds, index);
}
