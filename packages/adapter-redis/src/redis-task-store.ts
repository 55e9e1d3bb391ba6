// TaskStore on Redis: one hash per task, creation-ordered index zsets (active states, each
// finished state, run, phase), finish-time zsets for retention, and the idempotency key as a
// string with its TTL. Every change is one script, a checked translation of core's
// task-transitions.ts (lua/includes/task-lib.lua), that appends the events handed to it iff it
// applies. Records are decoded one by one: an undecodable one is quarantined, never thrown.
import {
  ValidationError,
  newId,
  matchesTaskFilter,
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
import { eventArgs } from './event-codec.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import { flags } from './redis-queue.js';
import { decodeTask, opt, packTask, type DecodedTask } from './task-codec.js';

/** Index entries one list or counts call walks before answering (bounds time inside Redis). */
const SCAN_BUDGET = 1_000;
/** Tasks one purge call removes at most (the port's limit is split across calls). */
const PURGE_CHUNK = 1_000;
const TERMINAL = ['completed', 'dead', 'cancelled'] as const;

type Reply = (string | number | null)[];

/** The head the scripts put on the events of a task without a run or phase (event-lib's addEventsFor). */
const NO_RUN = '{"runId":null,"phaseId":null,';

const keyTtl = (t: NewTask): number => Math.max(1, Math.ceil(t.keyTtlMs));

export class RedisTaskStore implements TaskStore {
  constructor(private readonly conn: RedisConnection) {}

  async create(tasks: NewTask[], options?: WriteOptions & { events?: (NewEvent[] | undefined)[] }): Promise<CreateResult[]> {
    return this.createTasks('tasks.create', tasks, null, options?.events);
  }

  /** create, and for each task created also its delivery (after `delaysMs[i]`): TaskFlow.createAndEnqueue. */
  async createTasks(
    op: string,
    tasks: readonly NewTask[],
    delaysMs: readonly (number | undefined)[] | null,
    events: readonly (readonly NewEvent[] | undefined)[] | undefined,
  ): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    const first = tasks[0]!;
    if (tasks.length === 1 && delaysMs !== null && !(delaysMs[0]! > 0) && first.group === null && first.runId === null && first.phaseId === null) {
      // enqueue()'s commonest call has a leaner script of its own (create-one.lua); with no run
      // or phase, the events' JSON is complete here.
      const ev = events?.[0];
      const [ats, lines] = eventArgs(ev, NO_RUN);
      const flat = (await this.conn.run(op, 'create-one', [first.id, first.type, first.idempotencyKey, keyTtl(first), first.queue, first.priority, packTask(first), ev?.length ?? 0, ats, lines])) as [string, number];
      return [{ id: String(flat[0]), duplicate: flat[1] === 1 }];
    }
    const args: RedisArg[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i]!;
      const delay = delaysMs === null ? '' : Math.max(0, Math.ceil(delaysMs[i] ?? 0));
      const [ats, lines] = eventArgs(events?.[i]);
      args.push(t.id, t.type, t.idempotencyKey, keyTtl(t), t.queue, t.priority, t.group ?? '', t.runId ?? '', t.phaseId ?? '', packTask(t), delay, ats, lines);
    }
    const flat = (await this.conn.run(op, 'create', args)) as (string | number)[];
    const out = new Array<CreateResult>(flat.length / 2);
    for (let i = 0; i < flat.length; i += 2) out[i / 2] = { id: String(flat[i]), duplicate: flat[i + 1] === 1 };
    return out;
  }

  async get(id: string): Promise<TaskRecord | null> {
    const [, hash] = (await this.conn.run('tasks.get', 'get-tasks', [id])) as [number, Reply];
    const d = decodeTask(hash);
    if (d === null) return null;
    return (await this.settle('tasks.get', [d]))[0]!.task;
  }

  /**
   * Quarantines the decoded records that carry a corruption not yet stored (transitions.quarantine,
   * with core's error and a `task.corrupt` event) and returns every record as it now stands.
   */
  async settle(op: string, decoded: DecodedTask[]): Promise<DecodedTask[]> {
    const bad = decoded.filter((d) => d.corrupt !== null);
    if (bad.length === 0) return decoded;
    const args: RedisArg[] = [];
    for (const d of bad) {
      const c = d.corrupt!;
      const event = transitions.corruptEvent(d.task, c, newId(), 0);
      args.push(d.task.id, JSON.stringify(c), JSON.stringify(transitions.corruptRecordError(d.task.id, c)), tail(event));
    }
    const hashes = (await this.conn.run(op, 'quarantine', args)) as Reply[];
    const fixed = new Map<string, DecodedTask>();
    bad.forEach((d, i) => {
      const again = decodeTask(hashes[i]!);
      if (again !== null) fixed.set(d.task.id, { ...again, corrupt: null });
    });
    return decoded.map((d) => (d.corrupt === null ? d : (fixed.get(d.task.id) ?? { ...d, corrupt: null })));
  }

  async list(query: TaskQuery): Promise<TaskPage> {
    let after = 0;
    if (query.cursor !== undefined) {
      const decoded = orderCursor.decode(query.cursor);
      if (decoded === null) throw new ValidationError(`Invalid task page cursor ${JSON.stringify(query.cursor.slice(0, 40))}: pass back a cursor a previous page returned.`);
      after = decoded;
    }
    if (query.limit <= 0) return { tasks: [], cursor: null };
    const found = query.ids !== undefined ? await this.byIds(query, after) : await this.scan(query, after);
    const page = await this.settle('tasks.list', found.slice(0, query.limit));
    return { tasks: page.map((d) => d.task), cursor: found.length > query.limit ? orderCursor.encode(page[page.length - 1]!.seq) : null };
  }

  /** Up to limit + 1 matches (one ahead, to know whether a page follows), walking the indexes. */
  private async scan(query: TaskQuery, after: number): Promise<DecodedTask[]> {
    const want = query.limit + 1;
    const sources: string[] = [];
    if (query.states !== undefined) {
      if (query.states.some((s) => s === 'pending' || s === 'running' || s === 'scheduled')) sources.push('active');
      for (const s of TERMINAL) if (query.states.includes(s)) sources.push(s);
    } else if (query.runId !== undefined) sources.push('run');
    else if (query.phaseId !== undefined) sources.push('phase');
    else sources.push('active', ...TERMINAL);
    const out: DecodedTask[] = [];
    let cursor = after;
    for (;;) {
      const reply = (await this.conn.run('tasks.list', 'list-tasks', [
        cursor,
        want - out.length,
        SCAN_BUDGET,
        query.states?.join(',') ?? '',
        opt(query.type),
        opt(query.queue),
        opt(query.runId),
        opt(query.phaseId),
        opt(query.since === undefined ? undefined : String(query.since)),
        opt(query.until === undefined ? undefined : String(query.until)),
        opt(query.idleForMs === undefined ? undefined : String(Math.max(0, query.idleForMs))),
        ...sources,
      ])) as [number, number, ...(number | Reply)[]];
      for (let i = 2; i < reply.length; i += 2) {
        const d = decodeTask(reply[i + 1] as Reply);
        if (d !== null) out.push(d);
      }
      if (out.length >= want || reply[1] === 1) return out;
      cursor = Number(reply[0]);
    }
  }

  private async byIds(query: TaskQuery, after: number): Promise<DecodedTask[]> {
    if (query.ids!.length === 0) return [];
    const [now, ...hashes] = (await this.conn.run('tasks.list', 'get-tasks', query.ids!)) as [number, ...Reply[]];
    const filter = { ...query, ids: undefined };
    const out: DecodedTask[] = [];
    for (const h of hashes) {
      const d = decodeTask(h);
      if (d !== null && d.seq > after && matchesTaskFilter(d.task, filter, now)) out.push(d);
    }
    return out.sort((a, b) => a.seq - b.seq).slice(0, query.limit + 1);
  }

  async counts(by: CountBy = 'phase'): Promise<TaskCount[]> {
    const groups = new Map<string, TaskCount>();
    for (const source of ['active', ...TERMINAL]) {
      let cursor: string | null = '0';
      while (cursor !== null) {
        const reply = (await this.conn.run('tasks.counts', 'counts', [by, source, cursor, SCAN_BUDGET])) as [string | null, ...(string | number)[]];
        for (let i = 1; i < reply.length; i += 4) {
          const key = reply[i] === '' ? null : String(reply[i]);
          const state = String(reply[i + 1]) as TaskState;
          const count = Number(reply[i + 2]);
          const oldest = Number(reply[i + 3]);
          const k = `${state}\u0000${key ?? '\u0001'}`;
          const g = groups.get(k);
          if (g === undefined) groups.set(k, { key, state, count, oldestUpdatedAt: oldest });
          else {
            g.count += count;
            g.oldestUpdatedAt = Math.min(g.oldestUpdatedAt, oldest);
          }
        }
        cursor = reply[0];
      }
    }
    return [...groups.values()];
  }

  async start(claims: StartClaim[], options?: { startedEvents?: boolean }): Promise<StartResult[]> {
    if (claims.length === 0) return [];
    const args: RedisArg[] = [options?.startedEvents === true ? '1' : '0'];
    for (const c of claims) args.push(c.taskId, c.leaseId, c.workerId);
    const [now, ...reply] = (await this.conn.run('tasks.start', 'start', args)) as [number, ...(Reply | string | number)[]];
    return this.startResults('tasks.start', claims, reply, now);
  }

  /**
   * StartResults from the scripts' per-claim answers: a started task's hash as it was before the
   * start, to which transitions.start applies (the script wrote exactly its fields, at `now`).
   * Started records that do not decode are quarantined.
   */
  async startResults(op: string, claims: readonly StartClaim[], reply: readonly (Reply | string | number)[], now: number): Promise<StartResult[]> {
    const started: DecodedTask[] = [];
    const out = claims.map(({ taskId, leaseId, workerId }, i): StartResult => {
      const r = reply[i];
      if (Array.isArray(r)) {
        const d = decodeTask(r);
        if (d === null) return { taskId, task: null, state: null };
        started.push(d);
        if (d.corrupt !== null) return { taskId, task: d.task };
        // transitions.start on the fresh record, which is ours to write (the script wrote these fields).
        transitions.startInPlace(d.task, leaseId, workerId, now);
        return { taskId, task: d.task };
      }
      if (typeof r !== 'string') return { taskId, task: null, state: null };
      const tab = r.indexOf('\t');
      return tab < 0 ? { taskId, task: null, state: r as TaskState } : { taskId, task: null, state: 'running', leaseId: r.slice(tab + 1) };
    });
    if (started.every((d) => d.corrupt === null)) return out;
    const corrupt = new Map<string, Corruption>();
    for (const d of started) if (d.corrupt !== null) corrupt.set(d.task.id, d.corrupt);
    const settled = await this.settle(op, started.filter((d) => d.corrupt !== null));
    const dead = new Map(settled.map((d) => [d.task.id, d.task.state]));
    return out.map((r) => {
      const c = corrupt.get(r.taskId);
      return c === undefined || r.task === null ? r : { taskId: r.taskId, task: null, state: dead.get(r.taskId) ?? 'dead', corrupt: c };
    });
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    const args: RedisArg[] = [];
    for (const o of outcomes) pushOutcome(args, o);
    return flags(await this.conn.run('tasks.finish', 'finish', args));
  }

  async heartbeat(refs: LeaseRef[]): Promise<boolean[]> {
    return this.beat('tasks.heartbeat', refs, '');
  }

  /** tasks.heartbeat, after extending each delivery's lease when `leaseMs` is given (TaskFlow.heartbeat). */
  async beat(op: string, refs: readonly LeaseRef[], leaseMs: number | ''): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [leaseMs === '' ? '' : Math.max(1, Math.ceil(leaseMs))];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return flags(await this.conn.run(op, 'heartbeat', args));
  }

  async recover(items: RecoverItem[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (items.length === 0) return [];
    const args: RedisArg[] = [maxRecoveries];
    for (const it of items) args.push(it.taskId, it.leaseId, JSON.stringify(it.poisonPill), ...eventArgs(it.recoveredEvents), ...eventArgs(it.deadEvents));
    return (await this.conn.run('tasks.recover', 'recover', args)) as RecoverResult[];
  }

  async transition(ids: string[], from: readonly TaskState[], to: TaskState, options?: TransitionOptions): Promise<string[]> {
    if (ids.length === 0 || from.length === 0) return [];
    const args: RedisArg[] = [to, options?.error === undefined ? '' : JSON.stringify(options.error), from.join(',')];
    ids.forEach((id, i) => args.push(id, ...eventArgs(options?.events?.[i])));
    return (await this.conn.run('tasks.transition', 'transition', args)) as string[];
  }

  async retry(ids: string[], options: RetryOptions): Promise<string[]> {
    if (ids.length === 0) return [];
    const args: RedisArg[] = [options.resetAttempts ? '1' : '0'];
    ids.forEach((id, i) => args.push(id, ...eventArgs(options.events?.[i])));
    return (await this.conn.run('tasks.retry', 'retry', args)) as string[];
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    const reply = (await this.conn.run('tasks.recordUsage', 'usage', [taskId, leaseId, String(delta.costUsd || 0), String(delta.tokens || 0)])) as [string, string] | null;
    return reply === null ? null : { costUsd: Number(reply[0]), tokens: Number(reply[1]) };
  }

  async setProgress(taskId: string, leaseId: string, progress: JsonValue, options?: Audited): Promise<boolean> {
    return (await this.conn.run('tasks.setProgress', 'progress', [taskId, leaseId, JSON.stringify(progress), ...eventArgs(options?.events)])) === 1;
  }

  async purge(options: PurgeOptions): Promise<number> {
    let removed = 0;
    while (removed < options.limit) {
      const chunk = Math.min(PURGE_CHUNK, options.limit - removed);
      const n = Number(await this.conn.run('tasks.purge', 'purge-tasks', [options.state, Math.max(0, options.olderThanMs), Math.max(0, options.keepLatest), chunk]));
      removed += n;
      if (n < chunk) break;
    }
    return removed;
  }

  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await this.conn.run('tasks.delete', 'delete-tasks', ids));
  }
}

/** An outcome as the finish scripts read it: 8 arguments (see finish.lua). */
export function pushOutcome(args: RedisArg[], o: TaskOutcome): void {
  args.push(
    o.taskId,
    o.leaseId,
    o.state,
    o.result === undefined ? '' : JSON.stringify(o.result),
    o.error === undefined ? '' : JSON.stringify(o.error),
    o.durationMs === undefined ? '' : Math.round(o.durationMs),
    ...eventArgs(o.events),
  );
}

/** A task.corrupt event as quarantine.lua takes it: without its brace, runId, phaseId and at. */
function tail(e: NewEvent): string {
  return JSON.stringify({ id: e.id, type: e.type, taskId: e.taskId, workerId: e.workerId, data: e.data }).slice(1);
}
