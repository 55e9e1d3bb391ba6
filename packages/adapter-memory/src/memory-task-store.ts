// In-process TaskStore. Every lifecycle change is `transitions.*` from core applied to the stored
// record, with the returned fields written back as they are (after copying what came from the
// caller), so this store writes exactly what the shared state machine defines; start and finish,
// on every task's path, use the transitions' in-place forms instead of a copy. Each call does its
// work synchronously, which makes every change atomic with the events handed to it: they are
// appended to the backend's event records in the same step, iff the change applied.
import {
  ValidationError,
  eventId,
  isTerminal,
  matchesTaskFilter,
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
import { cloneJson } from './clone-json.js';
import { CreationOrder } from './creation-order.js';
import type { MemoryState, StoredTask } from './memory-state.js';
import { RetentionIndex } from './retention-index.js';
import { copyBudget, copyError, copyOut, copyTrace, writeBack } from './task-record-copy.js';

export class MemoryTaskStore implements TaskStore {
  /** Idempotency key → the task it was last given to; the task holds the key's expiry. */
  private readonly keys = new Map<string, StoredTask>();
  private readonly order = new CreationOrder((id, order) => this.tasks.get(id)?.order === order);
  private readonly retention = new RetentionIndex();
  private seq = 0;

  constructor(private readonly state: MemoryState) {}

  private get tasks(): Map<string, StoredTask> {
    return this.state.tasks;
  }

  async create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    this.state.assertOpen();
    return this.createNow(tasks, options?.events);
  }

  /** `create` in one synchronous step (also the first half of the flow's createAndEnqueue). */
  createNow(tasks: readonly NewTask[], events: readonly (readonly NewEvent[] | undefined)[] | undefined): CreateResult[] {
    const now = this.state.now();
    return tasks.map((t, i) => {
      const holder = this.keys.get(t.idempotencyKey);
      if (holder !== undefined && holder.keyExpiresAt > now) return { id: holder.id, duplicate: true };
      if (this.tasks.has(t.id)) return { id: t.id, duplicate: true };
      // The store's own fields are assigned, not spread in: V8 takes a slow path (~100× slower) for
      // a spread followed by extra keys.
      const record = transitions.createRecord(t, now) as StoredTask;
      record.order = ++this.seq;
      record.keyExpiresAt = now + t.keyTtlMs;
      record.retention = null;
      record.input = cloneJson(t.input);
      record.budget = copyBudget(t.budget);
      record.traceContext = copyTrace(t.traceContext);
      this.tasks.set(t.id, record);
      this.keys.set(t.idempotencyKey, record);
      this.order.add(t.id, record.order);
      this.state.events.appendFor(record, events?.[i]);
      return { id: t.id, duplicate: false };
    });
  }

  async get(id: string): Promise<TaskRecord | null> {
    this.state.assertOpen();
    const t = this.tasks.get(id);
    return t === undefined ? null : copyOut(t);
  }

  async list(query: TaskQuery): Promise<TaskPage> {
    this.state.assertOpen();
    const now = this.state.now();
    let after = 0;
    if (query.cursor !== undefined) {
      const decoded = orderCursor.decode(query.cursor);
      if (decoded === null) throw new ValidationError(`Invalid task page cursor ${JSON.stringify(query.cursor.slice(0, 40))}: pass back a cursor a previous page returned.`);
      after = decoded;
    }
    // ids are looked up directly below; the filter need not test them again per task.
    const filter = query.ids === undefined ? query : { ...query, ids: undefined };
    const tasks: TaskRecord[] = [];
    let last = after;
    let more = false;
    const visit = (t: StoredTask): boolean => {
      if (!matchesTaskFilter(t, filter, now)) return true;
      if (tasks.length >= query.limit) {
        more = true;
        return false;
      }
      tasks.push(copyOut(t));
      last = t.order;
      return true;
    };
    if (query.ids !== undefined) {
      const found: StoredTask[] = [];
      for (const id of query.ids) {
        const t = this.tasks.get(id);
        if (t !== undefined && t.order > after) found.push(t);
      }
      found.sort((a, b) => a.order - b.order);
      for (const t of found) if (!visit(t)) break;
    } else {
      this.order.scan(after, (id) => visit(this.tasks.get(id)!));
    }
    return { tasks, cursor: more ? orderCursor.encode(last) : null };
  }

  async counts(by: CountBy): Promise<TaskCount[]> {
    this.state.assertOpen();
    const groups = new Map<string, TaskCount>();
    for (const t of this.tasks.values()) {
      const key = by === 'phase' ? t.phaseId : by === 'queue' ? t.queue : t.type;
      const k = key === null ? `${t.state}\u0000` : `${t.state}\u0001${key}`;
      const g = groups.get(k);
      if (g === undefined) groups.set(k, { key, state: t.state, count: 1, oldestUpdatedAt: t.updatedAt });
      else {
        g.count++;
        if (t.updatedAt < g.oldestUpdatedAt) g.oldestUpdatedAt = t.updatedAt;
      }
    }
    return [...groups.values()];
  }

  async start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const startedEvents = options?.startedEvents === true;
    return claims.map((c) => this.startOne(c.taskId, c.leaseId, c.workerId, startedEvents, now));
  }

  startOne(taskId: string, leaseId: string, workerId: string, startedEvent: boolean, now: number): StartResult {
    const t = this.tasks.get(taskId);
    if (t === undefined) return { taskId, task: null, state: null };
    // A claimer holding the task's delivery learns which stale lease it still runs under.
    if (!transitions.startInPlace(t, leaseId, workerId, now)) return t.state === 'running' ? { taskId, task: null, state: t.state, leaseId: t.leaseId } : { taskId, task: null, state: t.state };
    if (startedEvent) this.state.events.appendOneFor(t, transitions.startedEvent(t, eventId()));
    return { taskId, task: copyOut(t) };
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return outcomes.map((o) => this.finishOne(o, now));
  }

  finishOne(o: TaskOutcome, now: number): boolean {
    const t = this.tasks.get(o.taskId);
    if (t === undefined) return false;
    if (!transitions.finishInPlace(t, o, now)) return false;
    if (t.result !== null && t.result === o.result) t.result = cloneJson(o.result);
    if (o.error !== undefined && t.error === o.error) t.error = copyError(o.error);
    this.changed(t, o.events);
    return true;
  }

  async heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((r) => this.heartbeatOne(r, now));
  }

  heartbeatOne(ref: LeaseRef, now: number): boolean {
    const t = this.tasks.get(ref.taskId);
    if (t === undefined) return false;
    const next = transitions.heartbeat(t, ref.leaseId, now);
    if (next === null) return false;
    writeBack(t, next);
    return true;
  }

  async recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return items.map((item): RecoverResult => {
      const t = this.tasks.get(item.taskId);
      if (t === undefined) return 'skipped';
      const next = transitions.recover(t, item.leaseId, maxRecoveries, item.poisonPill, now);
      if (next === null) return 'skipped';
      if (next.error === item.poisonPill) next.error = copyError(item.poisonPill);
      const dead = next.state === 'dead';
      this.apply(t, next, dead ? item.deadEvents : item.recoveredEvents);
      return dead ? 'dead' : 'recovered';
    });
  }

  async transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const error = options?.error;
    const moved: string[] = [];
    ids.forEach((id, i) => {
      const t = this.tasks.get(id);
      if (t === undefined) return;
      const next = transitions.transition(t, from, to, now, error);
      if (next === null) return;
      if (error !== undefined && next.error === error) next.error = copyError(error);
      this.apply(t, next, options?.events?.[i]);
      moved.push(id);
    });
    return moved;
  }

  async retry(ids: string[], options: RetryOptions): Promise<string[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const moved: string[] = [];
    ids.forEach((id, i) => {
      const t = this.tasks.get(id);
      if (t === undefined) return;
      const next = transitions.retry(t, options.resetAttempts, now);
      if (next === null) return;
      this.apply(t, next, options.events?.[i]);
      moved.push(id);
    });
    return moved;
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    this.state.assertOpen();
    const t = this.tasks.get(taskId);
    if (t === undefined) return null;
    const next = transitions.addUsage(t, leaseId, delta);
    if (next === null) return null;
    writeBack(t, next);
    return { costUsd: next.usage.costUsd, tokens: next.usage.tokens };
  }

  async setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    this.state.assertOpen();
    const t = this.tasks.get(taskId);
    if (t === undefined) return false;
    const next = transitions.setProgress(t, leaseId, progress);
    if (next === null) return false;
    next.progress = cloneJson(progress);
    this.apply(t, next, options?.events);
    return true;
  }

  async purge(options: PurgeOptions): Promise<number> {
    this.state.assertOpen();
    const victims = this.retention.victims(options, this.state.now());
    for (const v of victims) {
      const t = v.task as StoredTask;
      t.retention = null;
      this.remove(t);
    }
    return victims.length;
  }

  async delete(ids: string[]): Promise<number> {
    this.state.assertOpen();
    let n = 0;
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (t === undefined || !isTerminal(t.state)) continue;
      this.remove(t);
      n++;
    }
    return n;
  }

  /** Stores a changed record and appends the events of its change in the same step. */
  private apply(t: StoredTask, next: StoredTask, events: readonly NewEvent[] | undefined): void {
    writeBack(t, next);
    this.changed(t, events);
  }

  /** After a lifecycle change of `t`: its retention entry, and the change's events, in the same step. */
  private changed(t: StoredTask, events: readonly NewEvent[] | undefined): void {
    if (t.retention !== null || isTerminal(t.state)) this.retention.sync(t);
    this.state.events.appendFor(t, events);
  }

  private remove(t: StoredTask): void {
    this.retention.drop(t);
    this.tasks.delete(t.id);
    if (this.keys.get(t.idempotencyKey) === t) this.keys.delete(t.idempotencyKey);
    this.order.removed(t.order);
    this.state.taskDeleted(t.id);
  }
}
