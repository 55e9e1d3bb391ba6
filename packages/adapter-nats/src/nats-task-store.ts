// TaskStore on the tasks bucket. Every lifecycle change is core's `transitions.*` applied to the
// stored record with compare-and-set (nats-task-records.ts), its events written in the same write
// (the outbox) and published right after, so they are appended iff the change applied.
// Idempotency keys: nats-idempotency-keys.ts. Lists, counts and retention: nats-task-scan.ts.
import {
  isTerminal,
  matchesTaskFilter,
  newId,
  retentionVictims,
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
import { deleteChunks } from './nats-checkpoint-store.js';
import { createUnderKey, dropExpiredKeys, nextOrd, releaseKey } from './nats-idempotency-keys.js';
import { decodeToken } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import type { Mutated, TaskRecords } from './nats-task-records.js';
import { byCreation, headerValue, metaMatches, pageCursor, scanTasks, type Position } from './nats-task-scan.js';

/** The answer of a change once its events are in the log (or kept for a retry). */
async function settled<R>(change: Promise<Mutated<R>>): Promise<R> {
  const m = await change;
  await m.landed;
  return m.result;
}

/** Bodies of a page are read this many at a time. */
const READ_BATCH = 200;

export class NatsTaskStore implements TaskStore {
  constructor(
    private readonly rt: NatsRuntime,
    readonly records: TaskRecords,
  ) {}

  async create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    return this.rt.run('tasks.create', (c) => this.createNow(c, tasks, options?.events));
  }

  /** `create` inside a running operation (also the first half of the flow's createAndEnqueue). */
  async createNow(c: NatsContext, tasks: readonly NewTask[], events: readonly (readonly NewEvent[] | undefined)[] | undefined): Promise<CreateResult[]> {
    const results = new Array<CreateResult>(tasks.length);
    // Creation order follows the call: each task's place is taken before any write starts.
    const ords = tasks.map(() => nextOrd());
    // Refuse an oversized record before any write, so a failed create leaves no key behind.
    for (const t of tasks) this.records.checkSize(c, transitions.createRecord(t, 0));
    // One key's creates run in order (the second is the first's duplicate); keys run in parallel.
    const groups = new Map<string, number[]>();
    tasks.forEach((t, i) => groups.set(t.idempotencyKey, [...(groups.get(t.idempotencyKey) ?? []), i]));
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        for (const i of indexes) {
          const t = tasks[i]!;
          results[i] = await createUnderKey(c, t, (now) => this.records.create(c, transitions.createRecord(t, now), ords[i]!, events?.[i]));
        }
      }),
    );
    return results;
  }

  async get(id: string): Promise<TaskRecord | null> {
    return this.rt.run('tasks.get', async (c) => (await this.records.read(c, id, true))?.held.rec ?? null);
  }

  async list(query: TaskQuery): Promise<TaskPage> {
    return this.rt.run('tasks.list', async (c) => {
      const after = query.cursor === undefined ? null : pageCursor.decode(query.cursor);
      if (query.limit <= 0) return { tasks: [], cursor: null };
      const now = c.clock.now();
      const filter = { ...query, ids: undefined };
      const past = (p: Position) => after === null || byCreation(p, after) > 0;
      if (query.ids !== undefined) {
        const found = (await Promise.all(query.ids.map((id) => this.records.read(c, id, true)))).flatMap((r) => (r === null ? [] : [r.held]));
        const page = found
          .map((h) => ({ rec: h.rec, pos: { created: h.rec.createdAt, ord: h.ord, id: h.rec.id } }))
          .filter((x) => past(x.pos) && matchesTaskFilter(x.rec, filter, now))
          .sort((a, b) => byCreation(a.pos, b.pos));
        const tasks = page.slice(0, query.limit);
        return { tasks: tasks.map((x) => x.rec), cursor: page.length > query.limit ? pageCursor.encode(tasks[tasks.length - 1]!.pos) : null };
      }
      const hits = (await scanTasks(c)).filter((m) => metaMatches(m, filter, now) && past(m)).sort(byCreation);
      const tasks: TaskRecord[] = [];
      let examined = 0;
      while (examined < hits.length && tasks.length < query.limit) {
        const batch = hits.slice(examined, examined + Math.min(READ_BATCH, query.limit - tasks.length));
        const read = await Promise.all(batch.map((m) => this.records.readAt(c, m.id, m.revision, true)));
        examined += batch.length;
        // A task that changed since the scan is checked again on its current body.
        for (const r of read) if (r !== null && matchesTaskFilter(r.held.rec, filter, now)) tasks.push(r.held.rec);
      }
      const last = hits[examined - 1];
      return { tasks, cursor: examined < hits.length && last !== undefined ? pageCursor.encode(last) : null };
    });
  }

  async counts(by: CountBy): Promise<TaskCount[]> {
    return this.rt.run('tasks.counts', async (c) => {
      const groups = new Map<string, TaskCount>();
      for (const m of await scanTasks(c)) {
        const token = by === 'phase' ? m.phase : by === 'queue' ? m.queue : m.type;
        const k = `${m.state}\u0000${token}`;
        const g = groups.get(k);
        if (g === undefined) groups.set(k, { key: by === 'phase' ? headerValue(token) : (decodeToken(token) ?? token), state: m.state, count: 1, oldestUpdatedAt: m.updated });
        else {
          g.count++;
          if (m.updated < g.oldestUpdatedAt) g.oldestUpdatedAt = m.updated;
        }
      }
      return [...groups.values()];
    });
  }

  async start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    if (claims.length === 0) return [];
    const startedEvents = options?.startedEvents === true;
    return this.rt.run('tasks.start', (c) => Promise.all(claims.map((claim) => this.startOne(c, claim, startedEvents))));
  }

  /** `waitForEvents` false: returns once the record is written; the task.started event follows (the flow). */
  async startOne(c: NatsContext, claim: StartClaim, startedEvents: boolean, waitForEvents = true): Promise<StartResult> {
    const { taskId, leaseId, workerId } = claim;
    const m = await this.records.mutate<StartResult>(
      c,
      taskId,
      (rec, read) => {
        const next = transitions.start(rec, leaseId, workerId, c.clock.now());
        if (next !== null) return { next, events: startedEvents ? [transitions.startedEvent(next, newId())] : undefined, result: { taskId, task: next } };
        // A claimer holding the task's delivery learns which stale lease it still runs under.
        const refused: StartResult = { taskId, task: null, state: rec.state, ...(rec.state === 'running' ? { leaseId: rec.leaseId } : {}) };
        return { next: null, result: read.corrupt ? { ...refused, corrupt: read.corrupt } : refused };
      },
      { taskId, task: null, state: null },
    );
    if (waitForEvents) await m.landed;
    return m.result;
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    return this.rt.run('tasks.finish', (c) => Promise.all(outcomes.map((o) => settled(this.finishOne(c, o)))));
  }

  finishOne(c: NatsContext, o: TaskOutcome): Promise<Mutated<boolean>> {
    return this.records.mutate(
      c,
      o.taskId,
      (rec) => {
        const next = transitions.finish(rec, o, c.clock.now());
        return { next, events: o.events, result: next !== null };
      },
      false,
    );
  }

  async heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    return this.rt.run('tasks.heartbeat', (c) => Promise.all(refs.map((r) => this.heartbeatOne(c, r))));
  }

  async heartbeatOne(c: NatsContext, ref: LeaseRef): Promise<boolean> {
    return settled(
      this.records.mutate(
        c,
        ref.taskId,
        (rec) => {
          const next = transitions.heartbeat(rec, ref.leaseId, c.clock.now());
          return { next, result: next !== null };
        },
        false,
      ),
    );
  }

  async recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (items.length === 0) return [];
    return this.rt.run('tasks.recover', (c) =>
      Promise.all(
        items.map((item) =>
          settled(
            this.records.mutate<RecoverResult>(
              c,
              item.taskId,
              (rec) => {
                const next = transitions.recover(rec, item.leaseId, maxRecoveries, item.poisonPill, c.clock.now());
                if (next === null) return { next, result: 'skipped' };
                const dead = next.state === 'dead';
                return { next, events: dead ? item.deadEvents : item.recoveredEvents, result: dead ? 'dead' : 'recovered' };
              },
              'skipped',
            ),
          ),
        ),
      ),
    );
  }

  async transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.rt.run('tasks.transition', (c) =>
      this.each(c, ids, options?.events, (rec) => transitions.transition(rec, from, to, c.clock.now(), options?.error)),
    );
  }

  async retry(ids: string[], options: RetryOptions): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.rt.run('tasks.retry', (c) => this.each(c, ids, options.events, (rec) => transitions.retry(rec, options.resetAttempts, c.clock.now())));
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    return this.rt.run('tasks.recordUsage', (c) =>
      settled(
        this.records.mutate<Usage | null>(
          c,
          taskId,
          (rec) => {
            const next = transitions.addUsage(rec, leaseId, delta);
            return { next, result: next ? { costUsd: next.usage.costUsd, tokens: next.usage.tokens } : null };
          },
          null,
        ),
      ),
    );
  }

  async setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    return this.rt.run('tasks.setProgress', async (c) => {
      return settled(
        this.records.mutate(
          c,
          taskId,
          (rec) => {
            const next = transitions.setProgress(rec, leaseId, progress);
            return { next, events: options?.events, result: next !== null };
          },
          false,
        ),
      );
    });
  }

  async purge(options: PurgeOptions): Promise<number> {
    return this.rt.run('tasks.purge', async (c) => {
      const now = c.clock.now();
      const done = (await scanTasks(c)).filter((m) => m.state === options.state).sort(byCreation);
      const entries = done.map((m, order) => ({ meta: m, order, finishedAt: m.finished || m.updated }));
      let removed = 0;
      for (const v of retentionVictims(entries, options, now)) if (await this.remove(c, v.meta.id, v.meta.revision)) removed++;
      await dropExpiredKeys(c, now, Math.max(0, options.limit));
      return removed;
    });
  }

  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.rt.run('tasks.delete', async (c) => {
      const gone = await Promise.all(
        [...new Set(ids)].map(async (id) => {
          const r = await this.records.read(c, id);
          return r !== null && isTerminal(r.held.rec.state) && this.remove(c, id, r.held.revision);
        }),
      );
      return gone.filter(Boolean).length;
    });
  }

  /** Removes a finished task at `revision` with its checkpoint and key mapping; false when it changed meanwhile. */
  private async remove(c: NatsContext, id: string, revision: number): Promise<boolean> {
    const r = await this.records.readAt(c, id, revision);
    if (r === null || !isTerminal(r.held.rec.state) || !(await this.records.delete(c.buckets.tasks, id, r.held.revision))) return false;
    if (r.held.cp) await deleteChunks(c, id, r.held.cp);
    await releaseKey(c, r.held.rec.idempotencyKey, id);
    return true;
  }

  /** An unfenced change of each listed task; `events[i]` go with task i. Returns the ids that moved, in order. */
  private async each(c: NatsContext, ids: readonly string[], events: readonly (NewEvent[] | undefined)[] | undefined, change: (rec: TaskRecord) => TaskRecord | null): Promise<string[]> {
    const moved = await Promise.all(
      ids.map(async (id, i) => {
        if (ids.indexOf(id) !== i) return false;
        return settled(
          this.records.mutate(
            c,
            id,
            (rec) => {
              const next = change(rec);
              return { next, events: events?.[i], result: next !== null };
            },
            false,
          ),
        );
      }),
    );
    return ids.filter((_, i) => moved[i]);
  }
}
