// Operator actions over the ports, for any backend: list and inspect tasks, retry finished ones,
// cancel, purge, and per-queue/type/phase statistics. The `baton` CLI and the dashboard are thin
// layers over this; nothing here knows which backend runs.
import { decodeCheckpoint } from './checkpoint-codec.js';
import type { EngineContext } from './engine-context.js';
import { CancelledError, InvalidStateError, NotFoundError, TimeoutError, ValidationError } from './errors.js';
import type { JsonValue } from './json.js';
import { MAX_ID_LENGTH, validateText } from './names.js';
import { normaliseTaskFilter, normaliseTaskQuery, type TaskFilterInput } from './normalize.js';
import type { BackendPorts } from './ports/backend.js';
import type { NewEvent, StoredEvent } from './ports/event-log.js';
import { ACTIVE_STATES, TASK_STATES, TERMINAL_STATES, isTerminal, type CountBy, type TaskRecord, type TaskState, type TerminalState } from './ports/task-store.js';
import type { TimerKind, TimerRecord } from './ports/timer-store.js';
import { normaliseLimit } from './normalize.js';

export interface TaskDetails {
  task: TaskRecord;
  /** The stored checkpoint (with its data decoded when it could be), when asked for and present. */
  checkpoint?: { token: string; sizeBytes: number; storedBytes: number; encoding: 'json' | 'gzip'; updatedAt: number; data: JsonValue | undefined; error?: string } | null;
  /** The task's events in order (at most 1000), when asked for. */
  events?: StoredEvent[];
}

export interface GroupStats {
  /** Queue name, task type or phase id (null: tasks without a phase). */
  key: string | null;
  counts: Record<TaskState, number>;
  /** How long the longest-waiting pending task has waited, in ms (null: none pending). */
  oldestWaitingMs: number | null;
  /** Running tasks whose holder stopped heartbeating past the stall timeout (not yet reclaimed). */
  runningPastLease: number;
  /** For queues: whether the queue is paused. */
  paused?: boolean;
}

export interface AdminDeps {
  ports: BackendPorts;
  engine: EngineContext;
  /** Puts tasks back in their queues (after a retry). */
  enqueueAgain(tasks: readonly TaskRecord[]): Promise<void>;
  /** Aborts tasks this process runs. */
  abort(ids: string[], reason: Error): void;
}

/** How many tasks one call of a bulk action changes per round trip. */
const BATCH = 500;

export class Admin {
  constructor(private readonly deps: AdminDeps) {}

  /** A page of tasks matching every given field, oldest first; pass `cursor` back for the next page. */
  async listTasks(filter: TaskFilterInput = {}, page: { cursor?: string | null; limit?: number } = {}): Promise<{ tasks: TaskRecord[]; cursor: string | null }> {
    return this.deps.ports.tasks.list(normaliseTaskQuery(filter, page));
  }

  /** The task with, on request, its checkpoint and its events. Throws NotFoundError. */
  async getTask(taskId: string, include: { checkpoint?: boolean; events?: boolean } = {}): Promise<TaskDetails> {
    validateText('Task id', taskId, MAX_ID_LENGTH);
    const { tasks, checkpoints, events } = this.deps.ports;
    const task = await tasks.get(taskId);
    if (!task) throw new NotFoundError(`No task with id ${taskId}: it was never enqueued on this backend, or retention removed it.`, taskId);
    const out: TaskDetails = { task };
    if (include.checkpoint) {
      const stored = await checkpoints.load(taskId);
      if (!stored) out.checkpoint = null;
      else {
        const base = { token: stored.token, sizeBytes: stored.sizeBytes, storedBytes: stored.body.byteLength, encoding: stored.encoding, updatedAt: stored.updatedAt };
        try {
          out.checkpoint = { ...base, data: decodeCheckpoint(stored).data };
        } catch (err) {
          out.checkpoint = { ...base, data: undefined, error: `cannot be decoded: ${(err as Error).message}` };
        }
      }
    }
    if (include.events) out.events = await events.query({ taskId, limit: 1_000 });
    return out;
  }

  /**
   * Runs a finished (dead, cancelled or completed) task again: same id, back to pending in its
   * queue, a `task.retried` event. `resetAttempts` gives it its whole retry budget again.
   * Throws InvalidStateError for a task that has not finished, NotFoundError for an unknown id.
   */
  async retry(taskId: string, options: { resetAttempts?: boolean } = {}): Promise<TaskRecord> {
    validateText('Task id', taskId, MAX_ID_LENGTH);
    const moved = await this.retryIds([taskId], options.resetAttempts === true);
    const task = await this.deps.ports.tasks.get(taskId);
    if (!task) throw new NotFoundError(`No task with id ${taskId}.`, taskId);
    if (moved.length === 0) throw new InvalidStateError(taskId, task.state, `Task ${taskId} is ${task.state}; only dead, cancelled or completed tasks can be retried (cancel it first to stop it).`);
    return task;
  }

  /** Retries every finished task matching the filter, in batches; returns how many. */
  async retryMany(filter: TaskFilterInput, options: { resetAttempts?: boolean; limit?: number } = {}): Promise<number> {
    const f = normaliseTaskFilter(filter);
    const states = (f.states ?? TERMINAL_STATES).filter((s): s is TerminalState => isTerminal(s));
    if (states.length === 0) throw new ValidationError('retryMany retries finished tasks: the filter must allow dead, cancelled or completed.');
    return this.eachBatch({ ...f, states }, options.limit, (ids) => this.retryIds(ids, options.resetAttempts === true));
  }

  /** Cancels one unfinished task; false when it had already finished. */
  async cancel(taskId: string): Promise<boolean> {
    validateText('Task id', taskId, MAX_ID_LENGTH);
    return (await this.cancelIds([taskId], 'cancelled')).length === 1;
  }

  /** Cancels every unfinished task matching the filter, in batches; returns how many. */
  async cancelMany(filter: TaskFilterInput, options: { limit?: number } = {}): Promise<number> {
    const f = normaliseTaskFilter(filter);
    const states = (f.states ?? ACTIVE_STATES).filter((s) => !isTerminal(s));
    if (states.length === 0) throw new ValidationError('cancelMany cancels unfinished tasks: the filter must allow pending, running or scheduled.');
    return this.eachBatch({ ...f, states }, options.limit, (ids) => this.cancelIds(ids, 'cancelled'));
  }

  /**
   * Deletes finished tasks matching the filter (only dead, cancelled or completed ones), with their
   * checkpoints. With `dryRun`, only counts what it would delete.
   */
  async purge(filter: TaskFilterInput, options: { dryRun?: boolean; limit?: number } = {}): Promise<number> {
    const f = normaliseTaskFilter(filter);
    const states = (f.states ?? TERMINAL_STATES).filter((s): s is TerminalState => isTerminal(s));
    if (states.length === 0) throw new ValidationError('purge deletes finished tasks only: the filter must allow dead, cancelled or completed.');
    const { tasks } = this.deps.ports;
    if (options.dryRun) return this.count({ ...f, states }, options.limit);
    return this.eachBatch({ ...f, states }, options.limit, async (ids) => {
      const n = await tasks.delete(ids);
      return ids.slice(0, n);
    });
  }

  /** Counts by state per queue, type or phase, with the oldest wait and running tasks past their lease. */
  async stats(options: { by?: CountBy } = {}): Promise<GroupStats[]> {
    const by = options.by ?? 'queue';
    if (by !== 'queue' && by !== 'type' && by !== 'phase') throw new ValidationError(`stats by must be 'queue', 'type' or 'phase'; got ${String(by)}.`);
    const { ports, engine } = this.deps;
    const now = engine.clock.now();
    const groups = new Map<string | null, GroupStats>();
    const group = (key: string | null) => {
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { key, counts: Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>, oldestWaitingMs: null, runningPastLease: 0 }));
      return g;
    };
    for (const c of await ports.tasks.counts(by)) {
      const g = group(c.key);
      g.counts[c.state] += c.count;
      if (c.state === 'pending') g.oldestWaitingMs = Math.max(g.oldestWaitingMs ?? 0, now - c.oldestUpdatedAt);
    }
    if (by === 'queue') {
      for (const q of await ports.queue.queues()) {
        const g = group(q.name);
        g.runningPastLease = q.depth.expired;
        g.paused = q.paused;
      }
    } else {
      // Running tasks whose last heartbeat is older than the stall timeout, counted from the records.
      let cursor: string | undefined;
      let seen = 0;
      do {
        const page = await ports.tasks.list({ states: ['running'], limit: 1_000, ...(cursor ? { cursor } : {}) });
        for (const t of page.tasks) {
          if ((t.heartbeatAt ?? t.startedAt ?? now) < now - engine.options.stallTimeoutMs) group(by === 'type' ? t.type : t.phaseId).runningPastLease++;
        }
        seen += page.tasks.length;
        cursor = page.cursor ?? undefined;
      } while (cursor && seen < 100_000);
    }
    return [...groups.values()].sort((a, b) => String(a.key).localeCompare(String(b.key)));
  }

  /** Pending timers (retries, timeboxes, custom), earliest due first: at most `limit` (≤ 1000). */
  async listTimers(filter: { kind?: TimerKind; taskId?: string; phaseId?: string; dueBefore?: number } = {}, page: { limit?: number } = {}): Promise<TimerRecord[]> {
    if (filter === null || typeof filter !== 'object') throw new ValidationError('A timer filter must be an object { kind?, taskId?, phaseId?, dueBefore? }.');
    const limit = normaliseLimit(page.limit);
    const timers = await this.deps.ports.timers.list({
      ...(filter.taskId === undefined ? {} : { taskId: validateText('taskId', filter.taskId, MAX_ID_LENGTH) }),
      ...(filter.phaseId === undefined ? {} : { phaseId: validateText('phaseId', filter.phaseId, MAX_ID_LENGTH) }),
      limit: filter.kind === undefined && filter.dueBefore === undefined ? limit : 1_000,
    });
    return timers.filter((t) => (filter.kind === undefined || t.kind === filter.kind) && (filter.dueBefore === undefined || t.dueAt < filter.dueBefore)).slice(0, limit);
  }

  /** Cancels the listed tasks that are unfinished; returns the ids that were. Used by cancel, cancelMany and phase timeouts. */
  async cancelIds(ids: string[], reason: 'cancelled' | 'timeout', phaseId: string | null = null): Promise<string[]> {
    if (ids.length === 0) return [];
    const { ports, engine } = this.deps;
    const { events } = engine;
    const audit: NewEvent[][] = ids.map((taskId) => [events.make('task.cancelled', { taskId, phaseId, data: { reason } })]);
    const error = reason === 'timeout' ? new TimeoutError(`Phase ${phaseId} reached its timebox; unfinished tasks were cancelled.`) : new CancelledError('Task was cancelled.');
    const moved = await ports.tasks.transition(ids, ACTIVE_STATES, 'cancelled', {
      error: { name: error.name, message: error.message, code: error.code, stack: null },
      ...(engine.atomicEvents ? { events: audit } : {}),
    });
    if (moved.length === 0) return [];
    // The running holder (in any process) loses its lease: its next heartbeat is refused and its signal aborts.
    await ports.queue.remove(moved);
    if (phaseId === null) for (const id of moved) await ports.timers.cancel({ taskId: id });
    this.deps.abort(moved, error);
    const byId = new Map(ids.map((id, i) => [id, audit[i]!]));
    events.written(moved.flatMap((id) => byId.get(id) ?? []));
    return moved;
  }

  private async retryIds(ids: string[], resetAttempts: boolean): Promise<string[]> {
    const { ports, engine } = this.deps;
    const { events } = engine;
    const audit: NewEvent[][] = ids.map((taskId) => [events.make('task.retried', { taskId, data: { resetAttempts } })]);
    const moved = await ports.tasks.retry(ids, { resetAttempts, ...(engine.atomicEvents ? { events: audit } : {}) });
    if (moved.length === 0) return [];
    const { tasks } = await ports.tasks.list({ ids: moved, limit: moved.length });
    await this.deps.enqueueAgain(tasks);
    const byId = new Map(ids.map((id, i) => [id, audit[i]!]));
    events.written(moved.flatMap((id) => byId.get(id) ?? []));
    return moved;
  }

  private async count(filter: ReturnType<typeof normaliseTaskFilter>, limit: number | undefined): Promise<number> {
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await this.deps.ports.tasks.list({ ...filter, limit: 1_000, ...(cursor ? { cursor } : {}) });
      n += page.tasks.length;
      cursor = page.cursor ?? undefined;
    } while (cursor && (limit === undefined || n < limit));
    return limit === undefined ? n : Math.min(n, limit);
  }

  /** Applies `act` to matching tasks a batch at a time (at most `limit` in all); returns how many it changed. */
  private async eachBatch(filter: ReturnType<typeof normaliseTaskFilter>, limit: number | undefined, act: (ids: string[]) => Promise<string[]>): Promise<number> {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new ValidationError(`limit must be an integer ≥ 0; got ${String(limit)}.`);
    let done = 0;
    let cursor: string | undefined;
    for (;;) {
      const want = limit === undefined ? BATCH : Math.min(BATCH, limit - done);
      if (want <= 0) return done;
      const page = await this.deps.ports.tasks.list({ ...filter, limit: want, ...(cursor ? { cursor } : {}) });
      if (page.tasks.length === 0) return done;
      done += (await act(page.tasks.map((t) => t.id))).length;
      if (!page.cursor) return done;
      cursor = page.cursor;
    }
  }
}
