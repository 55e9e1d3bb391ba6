// TaskStore on Redis: one hash per task, creation-ordered zsets per state / run / phase, a zset per
// terminal state by finish time (retention), a counts hash, and the idempotency key as its own
// string with a TTL. Every state change is one Lua script that checks and writes atomically.
import {
  ACTIVE_STATES,
  TERMINAL_STATES,
  type CreateResult,
  type NewEvent,
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
import { GROUP, type Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import { decodeStarted, decodeTask, opt, packX, pushOutcome } from './task-codec.js';

/** Index entries one list-tasks call examines before handing back a cursor (bounds time inside Redis). */
const LIST_SCAN_BUDGET = 2_000;
const PHASE_PAGE = 500;

export class RedisTaskStore implements TaskStore {
  private readonly createKeys: readonly string[];

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    /** Cap on visible events (the event log's), for the events the create script appends. */
    private readonly eventsMaxLen: number,
  ) {
    this.createKeys = [keys.seq, keys.counts, keys.stream, keys.deliveries, keys.delayed, keys.events, keys.eventSeq, keys.eventFloor];
  }

  async create(tasks: NewTask[]): Promise<CreateResult[]> {
    return this.createTasks(tasks, null, undefined);
  }

  /**
   * create + enqueue in one script: each task this call creates is also made deliverable on this
   * backend's queue (after its delay), and its event (if given) appended. Duplicates are left
   * alone, as create and enqueue would.
   */
  createAndEnqueue(tasks: NewTask[], delaysMs: readonly (number | undefined)[], events: readonly (NewEvent | undefined)[] | undefined): Promise<CreateResult[]> {
    return this.createTasks(tasks, delaysMs, events);
  }

  private async createTasks(
    tasks: NewTask[],
    delaysMs: readonly (number | undefined)[] | null,
    events: readonly (NewEvent | undefined)[] | undefined,
  ): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    const args: RedisArg[] = [this.keys.P, delaysMs === null ? '' : GROUP, this.eventsMaxLen];
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i]!;
      const delay = delaysMs?.[i];
      const event = events?.[i];
      args.push(
        t.id,
        t.type,
        t.idempotencyKey,
        Math.max(1, Math.ceil(t.keyTtlMs)),
        opt(t.runId),
        opt(t.phaseId),
        packX(t),
        delay !== undefined && delay > 0 ? Math.ceil(delay) : 0,
        event === undefined ? '' : JSON.stringify(event),
        event === undefined ? 0 : event.at,
      );
    }
    const flat = (await this.conn.run('create', this.createKeys, args)) as (string | number)[];
    const out: CreateResult[] = new Array<CreateResult>(flat.length / 2);
    for (let i = 0; i < flat.length; i += 2) out[i / 2] = { id: String(flat[i]), duplicate: flat[i + 1] === 1 };
    return out;
  }

  async get(id: string): Promise<TaskRecord | null> {
    return decodeTask((await this.conn.command('HGETALL', [this.keys.task(id)])) as string[]);
  }

  async list(filter: TaskFilter): Promise<TaskRecord[]> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 0), 1000);
    if (limit === 0) return [];
    if (filter.ids !== undefined) return this.listByIds([...new Set(filter.ids)], filter, limit);
    // Sources by seq are creation-ordered, so their first `limit` matches contain the overall first
    // `limit`; terminal-state sets are ordered by finish time and scanned whole (bounded by retention).
    const active = ACTIVE_STATES as readonly TaskState[];
    let sources: Source[];
    if (filter.states !== undefined) {
      const states = [...new Set(filter.states)];
      sources = states.filter((s) => !active.includes(s)).map((s) => ({ key: this.keys.state(s), byScore: false }));
      if (states.some((s) => active.includes(s))) sources.push({ key: this.keys.state('active'), byScore: true });
    } else if (filter.runId !== undefined) sources = [{ key: this.keys.run(filter.runId), byScore: true }];
    else if (filter.phaseId !== undefined) sources = [{ key: this.keys.phase(filter.phaseId), byScore: true }];
    else sources = ['active', ...TERMINAL_STATES].map((s) => ({ key: this.keys.state(s), byScore: s === 'active' }));
    const found: Ordered[] = [];
    for (const source of sources) found.push(...(await this.scan(source, filter, limit)));
    return bySeq(found, limit);
  }

  private async scan(source: Source, filter: TaskFilter, limit: number): Promise<Ordered[]> {
    let out: Ordered[] = [];
    let cursor: string | null = source.byScore ? '-inf' : '0';
    while (cursor !== null && (!source.byScore || out.length < limit)) {
      const reply = (await this.conn.run('list-tasks', [source.key], [
        this.keys.P,
        source.byScore ? 'score' : 'rank',
        cursor,
        LIST_SCAN_BUDGET,
        source.byScore ? limit - out.length : LIST_SCAN_BUDGET,
        filter.states?.join(',') ?? '',
        opt(filter.type),
        opt(filter.runId),
        opt(filter.phaseId),
        filter.idleForMs === undefined ? '' : `=${Math.max(0, filter.idleForMs)}`,
      ])) as [string | null, ...string[][]];
      cursor = reply[0];
      for (let i = 1; i < reply.length; i++) {
        const h = reply[i] as string[];
        const task = decodeTask(h);
        if (task !== null) out.push({ task, seq: seqField(h) });
      }
      // An unordered source keeps only the oldest `limit` matches seen so far.
      if (!source.byScore && out.length > limit) out = out.sort((a, b) => a.seq - b.seq).slice(0, limit);
    }
    return out;
  }

  private async listByIds(ids: string[], filter: TaskFilter, limit: number): Promise<TaskRecord[]> {
    if (ids.length === 0) return [];
    const hashes = (await this.conn.run('get-tasks', [this.keys.counts], [this.keys.P, ...ids])) as string[][];
    const states = filter.states === undefined ? null : new Set(filter.states);
    const idleBefore = filter.idleForMs === undefined ? null : (await this.redisNow()) - filter.idleForMs;
    const out: Ordered[] = [];
    for (const h of hashes) {
      const t = decodeTask(h);
      if (t === null) continue;
      if (states !== null && !states.has(t.state)) continue;
      if (filter.type !== undefined && t.type !== filter.type) continue;
      if (filter.runId !== undefined && t.runId !== filter.runId) continue;
      if (filter.phaseId !== undefined && t.phaseId !== filter.phaseId) continue;
      if (idleBefore !== null && t.updatedAt > idleBefore) continue;
      out.push({ task: t, seq: seqField(h) });
    }
    return bySeq(out, limit);
  }

  async counts(): Promise<TaskCount[]> {
    const flat = (await this.conn.run('counts', [this.keys.counts], [])) as string[];
    const out: TaskCount[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const field = flat[i]!;
      const count = Number(flat[i + 1]);
      if (!(count > 0)) continue;
      const colon = field.indexOf(':');
      out.push(
        colon < 0
          ? { phaseId: null, state: field as TaskState, count }
          : { phaseId: field.slice(colon + 1), state: field.slice(0, colon) as TaskState, count },
      );
    }
    return out;
  }

  async start(claims: StartClaim[]): Promise<StartResult[]> {
    if (claims.length === 0) return [];
    const args: RedisArg[] = [this.keys.P];
    for (const c of claims) args.push(c.taskId, c.leaseId, c.workerId);
    const reply = (await this.conn.run('start', [this.keys.counts], args)) as ((string | number | null)[] | string | number)[];
    return claims.map((c, i): StartResult => {
      const r = reply[i];
      if (Array.isArray(r)) return { taskId: c.taskId, task: decodeStarted(r, c.taskId, c.leaseId, c.workerId) };
      return { taskId: c.taskId, task: null, state: typeof r === 'string' ? (r as TaskState) : null };
    });
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    const args: RedisArg[] = [this.keys.P];
    for (const o of outcomes) pushOutcome(args, o);
    return flags(await this.conn.run('finish', [this.keys.counts], args));
  }

  async recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (refs.length === 0) return [];
    const args: RedisArg[] = [this.keys.P, maxRecoveries];
    for (const r of refs) args.push(r.taskId, r.leaseId);
    return (await this.conn.run('recover', [this.keys.counts], args)) as RecoverResult[];
  }

  async transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]> {
    if (ids.length === 0 || from.length === 0) return [];
    return (await this.conn.run('transition', [this.keys.counts], [
      this.keys.P,
      to,
      error === undefined ? '' : `=${JSON.stringify(error)}`,
      from.join(','),
      ...ids,
    ])) as string[];
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    const reply = (await this.conn.run('usage', [this.keys.task(taskId)], [leaseId, String(delta.costUsd || 0), String(delta.tokens || 0)])) as
      | [string, string]
      | null;
    return reply === null ? null : { costUsd: Number(reply[0]), tokens: Number(reply[1]) };
  }

  async cancelPhase(phaseId: string): Promise<string[]> {
    const cancelled: string[] = [];
    let cursor = '-inf';
    for (;;) {
      const page = (await this.conn.command('ZRANGEBYSCORE', [this.keys.phase(phaseId), `(${cursor}`, '+inf', 'WITHSCORES', 'LIMIT', 0, PHASE_PAGE])) as string[];
      if (page.length === 0) break;
      const ids: string[] = [];
      for (let i = 0; i < page.length; i += 2) ids.push(page[i]!);
      cursor = page[page.length - 1]!;
      cancelled.push(...(await this.transition(ids, [...ACTIVE_STATES], 'cancelled')));
      if (page.length < PHASE_PAGE * 2) break;
    }
    return cancelled;
  }

  async purge(options: PurgeOptions): Promise<number> {
    if (options.limit <= 0) return 0;
    return Number(
      await this.conn.run('purge-tasks', [this.keys.state(options.state), this.keys.counts, this.keys.checkpointStats], [
        this.keys.P,
        options.state,
        Math.max(0, options.olderThanMs),
        Math.max(0, options.keepLatest),
        options.limit,
      ]),
    );
  }

  private async redisNow(): Promise<number> {
    const [s, us] = (await this.conn.command('TIME', [])) as [string, string];
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}

interface Source {
  key: string;
  /** Scored by creation seq (scan by score, may stop early) or by finish time (scan by rank, whole). */
  byScore: boolean;
}

interface Ordered {
  task: TaskRecord;
  /** Creation order (the `sq` field), finer than createdAt. */
  seq: number;
}

function seqField(flat: readonly string[]): number {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === 'sq') return Number(flat[i + 1]);
  return 0;
}

function bySeq(found: Ordered[], limit: number): TaskRecord[] {
  return found
    .sort((a, b) => a.seq - b.seq)
    .slice(0, limit)
    .map((o) => o.task);
}

function flags(reply: unknown): boolean[] {
  return (reply as number[]).map((v) => v === 1);
}
