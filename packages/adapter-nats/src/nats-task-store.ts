// TaskStore on the `tasks` KV bucket: records under `t.<task>`, idempotency keys under
// `k.<sha256>` holding { id, exp }. A key is claimed with create-if-absent; an expired one is
// replaced with compare-and-set (bucket TTLs are bucket-wide, so expiry lives in the value).
// Lists, counts, phase cancels and purges are scans of the bucket: O(tasks), see README.
import {
  BackendError,
  isTerminal,
  sleep,
  systemClock,
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
import type { Versioned } from './nats-bucket.js';
import { deleteChunks } from './nats-checkpoint-store.js';
import { decodeToken, encodeToken, hashKey } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import { H, metaOf, NULL_TOKEN, nullableToken, taskKey, toRecord, type StoredTask, type TaskRecords } from './nats-task-records.js';
import { addUsage, finishTask, moveTask, newTaskRecord, recoverTask, startTask } from './task-transitions.js';

interface MetaEntry {
  key: string;
  id: string;
  revision: number;
  state: TaskState;
  created: number;
  ord: number;
  updated: number;
  /** Header tokens (encoded; NULL_TOKEN for none). Copied out: a kept header object would keep its message's buffer alive. */
  type: string;
  run: string;
  phase: string;
  finished: number;
}

interface KeyEntry {
  id: string;
  /** The key maps to `id` until then (backend ms). */
  exp: number;
  at: number;
}

/** A key whose task is missing this long after it was written is an orphan of a crashed create. */
const ORPHAN_GRACE_MS = 5_000;

let ordCounter = 0;

function idemKey(key: string): string {
  return `k.${hashKey(key)}`;
}

function clampLimit(limit: number | undefined): number {
  return Math.min(1000, Math.max(1, Math.floor(limit ?? 100)));
}

export class NatsTaskStore implements TaskStore {
  constructor(
    private readonly rt: NatsRuntime,
    private readonly records: TaskRecords,
  ) {}

  async create(tasks: NewTask[]): Promise<CreateResult[]> {
    if (tasks.length === 0) return [];
    return this.rt.run('create tasks', async (c) => {
      const results: CreateResult[] = new Array<CreateResult>(tasks.length);
      // One key's creates run in order (the second is the first's duplicate); keys run in parallel.
      const groups = new Map<string, number[]>();
      tasks.forEach((t, i) => groups.set(t.idempotencyKey, [...(groups.get(t.idempotencyKey) ?? []), i]));
      await Promise.all(
        [...groups.values()].map(async (indexes) => {
          for (const i of indexes) results[i] = await this.createOne(c, tasks[i] as NewTask);
        }),
      );
      return results;
    });
  }

  async get(id: string): Promise<TaskRecord | null> {
    return this.rt.run(`read task ${id}`, async (c) => {
      const cur = await this.records.get(c.buckets.tasks, id);
      return cur ? toRecord(cur.value) : null;
    });
  }

  async list(filter: TaskFilter): Promise<TaskRecord[]> {
    return this.rt.run('list tasks', async (c) => {
      const now = c.clock.now();
      const states = filter.states ? new Set(filter.states) : null;
      const match = (t: StoredTask) =>
        (!states || states.has(t.state)) &&
        (filter.type === undefined || t.type === filter.type) &&
        (filter.runId === undefined || t.runId === filter.runId) &&
        (filter.phaseId === undefined || t.phaseId === filter.phaseId) &&
        (filter.idleForMs === undefined || t.updatedAt <= now - filter.idleForMs);
      const limit = clampLimit(filter.limit);
      let found: StoredTask[];
      if (filter.ids) {
        const got = await Promise.all([...new Set(filter.ids)].map((id) => this.records.get(c.buckets.tasks, id)));
        found = got.filter((e): e is Versioned<StoredTask> => e !== null).map((e) => e.value);
      } else {
        // Filter on the headers, then read only the records that can be in the answer.
        const type = filter.type === undefined ? null : encodeToken(filter.type);
        const run = filter.runId === undefined ? null : nullableToken(filter.runId);
        const phase = filter.phaseId === undefined ? null : nullableToken(filter.phaseId);
        const hits = (await this.scanMeta(c)).filter(
          (e) =>
            (!states || states.has(e.state)) &&
            (type === null || e.type === type) &&
            (run === null || e.run === run) &&
            (phase === null || e.phase === phase) &&
            (filter.idleForMs === undefined || e.updated <= now - filter.idleForMs),
        );
        hits.sort((a, b) => a.created - b.created || a.ord - b.ord);
        found = [];
        for (let i = 0; i < hits.length && found.length < limit; i += limit) {
          const page = await Promise.all(hits.slice(i, i + limit).map((e) => this.readCurrent(c, e)));
          for (const rec of page) if (rec && match(rec)) found.push(rec);
        }
      }
      return found
        .filter(match)
        .sort((a, b) => a.createdAt - b.createdAt || a.ord - b.ord)
        .slice(0, limit)
        .map(toRecord);
    });
  }

  async counts(): Promise<TaskCount[]> {
    return this.rt.run('count tasks', async (c) => {
      const counts = new Map<string, TaskCount>();
      for (const e of await this.scanMeta(c)) {
        const phase = e.phase;
        const k = `${phase}\u0000${e.state}`;
        const entry = counts.get(k) ?? { phaseId: phase === NULL_TOKEN ? null : decodeToken(phase), state: e.state, count: 0 };
        entry.count += 1;
        counts.set(k, entry);
      }
      return [...counts.values()];
    });
  }

  async start(claims: StartClaim[]): Promise<StartResult[]> {
    if (claims.length === 0) return [];
    return this.rt.run('start tasks', (c) =>
      Promise.all(
        claims.map((claim) =>
          this.records.mutate<StartResult>(
            c.buckets.tasks,
            claim.taskId,
            (rec) => {
              const next = startTask(rec, claim.leaseId, claim.workerId, c.clock.now());
              return next ? { next, result: { taskId: claim.taskId, task: toRecord(next) } } : { next: null, result: { taskId: claim.taskId, task: null, state: rec.state } };
            },
            { taskId: claim.taskId, task: null, state: null },
          ),
        ),
      ),
    );
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    return this.rt.run('finish tasks', (c) =>
      Promise.all(
        outcomes.map((o) =>
          this.records.mutate(
            c.buckets.tasks,
            o.taskId,
            (rec) => {
              const next = finishTask(rec, o, c.clock.now());
              return { next, result: next !== null };
            },
            false,
          ),
        ),
      ),
    );
  }

  async recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]> {
    if (refs.length === 0) return [];
    return this.rt.run('recover tasks', (c) =>
      Promise.all(
        refs.map((ref) =>
          this.records.mutate<RecoverResult>(
            c.buckets.tasks,
            ref.taskId,
            (rec) => {
              const next = recoverTask(rec, ref.leaseId, maxRecoveries, c.clock.now());
              return { next, result: next === null ? 'skipped' : next.state === 'dead' ? 'dead' : 'recovered' };
            },
            'skipped',
          ),
        ),
      ),
    );
  }

  async transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.rt.run(`move tasks to ${to}`, async (c) => {
      const unique = [...new Set(ids)];
      const moved = await Promise.all(unique.map((id) => this.move(c, id, from, to, error)));
      return unique.filter((_, i) => moved[i]);
    });
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    return this.rt.run(`record usage of task ${taskId}`, (c) =>
      this.records.mutate<Usage | null>(
        c.buckets.tasks,
        taskId,
        (rec) => {
          const next = addUsage(rec, leaseId, delta, c.clock.now());
          return { next, result: next ? { ...next.usage } : null };
        },
        null,
      ),
    );
  }

  async cancelPhase(phaseId: string): Promise<string[]> {
    return this.rt.run(`cancel phase ${phaseId}`, async (c) => {
      const phase = nullableToken(phaseId);
      const live = (await this.scanMeta(c)).filter((e) => e.phase === phase && !isTerminal(e.state));
      live.sort((a, b) => a.created - b.created || a.ord - b.ord);
      const active: TaskState[] = ['pending', 'running', 'scheduled'];
      const moved = await Promise.all(live.map((e) => this.move(c, e.id, active, 'cancelled')));
      return live.filter((_, i) => moved[i]).map((e) => e.id);
    });
  }

  async purge(options: PurgeOptions): Promise<number> {
    return this.rt.run(`purge ${options.state} tasks`, async (c) => {
      const now = c.clock.now();
      const done = (await this.scanMeta(c)).filter((e) => e.state === options.state);
      const finished = (e: MetaEntry) => e.finished || e.updated;
      done.sort((a, b) => finished(b) - finished(a));
      const victims = done
        .filter((e, i) => i >= options.keepLatest || finished(e) < now - options.olderThanMs)
        .reverse()
        .slice(0, Math.max(0, options.limit));
      let removed = 0;
      for (const e of victims) {
        const rec = await c.buckets.tasks.getCurrent<StoredTask>(e.key, e.revision);
        if (!rec || !(await this.records.delete(c.buckets.tasks, e.id, e.revision))) continue;
        removed += 1;
        if (rec.value.cp) await deleteChunks(c, rec.value.cp);
        // Its idempotency key goes with it, so a later create with the key makes a new task.
        const k = await c.buckets.tasks.get<KeyEntry>(idemKey(rec.value.idempotencyKey));
        if (k && k.value.id === e.id) await c.buckets.tasks.deleteRevision(k.revision);
      }
      await this.dropExpiredKeys(c, now, Math.max(0, options.limit));
      return removed;
    });
  }

  private async createOne(c: NatsContext, t: NewTask): Promise<CreateResult> {
    const { tasks } = c.buckets;
    const kk = idemKey(t.idempotencyKey);
    // Refuse an oversized record before any write, so a failed create leaves no key behind.
    tasks.checkSize(taskKey(t.id), JSON.stringify(newTaskRecord(t, 0, 0)));
    for (let i = 0; i < 20; i++) {
      const now = c.clock.now();
      const mine: KeyEntry = { id: t.id, exp: now + t.keyTtlMs, at: now };
      const created = await tasks.create(kk, mine);
      if (created !== null) return this.writeNew(c, t, now, kk, created);
      const cur = await tasks.get<KeyEntry>(kk);
      if (!cur) continue;
      const k = cur.value;
      if (k.id === t.id) {
        // A retry of this very create: make sure the record exists.
        if (!(await tasks.get(taskKey(t.id)))) return this.writeNew(c, t, k.at, kk, cur.revision);
        return { id: t.id, duplicate: false };
      }
      if (k.exp > now && (await this.awaitTask(c, k))) return { id: k.id, duplicate: true };
      // Expired, or an orphan of a create that crashed between key and record: take it over.
      const replaced = await tasks.update(kk, mine, cur.revision);
      if (replaced !== null) return this.writeNew(c, t, now, kk, replaced);
    }
    throw new BackendError(`Task ${t.id}: could not settle idempotency key after repeated concurrent changes; retry the enqueue.`);
  }

  /** Whether the key's task exists (waiting briefly while its creator may still be writing it). */
  private async awaitTask(c: NatsContext, k: KeyEntry): Promise<boolean> {
    for (let i = 0; i < 400; i++) {
      if (await c.buckets.tasks.get(taskKey(k.id))) return true;
      if (c.clock.now() - k.at >= ORPHAN_GRACE_MS) return false;
      await sleep(systemClock, 25);
    }
    return false;
  }

  private async writeNew(c: NatsContext, t: NewTask, now: number, kk: string, keyRevision: number): Promise<CreateResult> {
    try {
      const rec = newTaskRecord(t, now, ++ordCounter);
      const rev = await c.buckets.tasks.create(taskKey(t.id), rec, metaOf(rec));
      if (rev !== null) this.records.remember(t.id, { key: taskKey(t.id), value: rec, revision: rev, time: now });
    } catch (err) {
      await c.buckets.tasks.deleteRevision(keyRevision).catch(() => undefined);
      throw err;
    }
    return { id: t.id, duplicate: false };
  }

  private move(c: NatsContext, id: string, from: TaskState[], to: TaskState, error?: StoredError): Promise<boolean> {
    return this.records.mutate(
      c.buckets.tasks,
      id,
      (rec) => {
        const next = moveTask(rec, from, to, c.clock.now(), error);
        return { next, result: next !== null };
      },
      false,
    );
  }

  /** Every task's headers: state, type, run, phase, times. No record bodies cross the wire. */
  private async scanMeta(c: NatsContext): Promise<MetaEntry[]> {
    const out: MetaEntry[] = [];
    await c.buckets.tasks.scanMeta('t.>', (e) => {
      out.push({
        key: e.key,
        id: decodeToken(e.key.slice(2)),
        revision: e.revision,
        state: e.meta(H.state) as TaskState,
        created: Number(e.meta(H.created)),
        ord: Number(e.meta(H.ord)),
        updated: Number(e.meta(H.updated)),
        type: e.meta(H.type),
        run: e.meta(H.run),
        phase: e.meta(H.phase),
        finished: Number(e.meta(H.finished) || 0),
      });
    });
    return out;
  }

  /** The record a scan saw, or its newer value if it changed since (null when gone). */
  private async readCurrent(c: NatsContext, e: MetaEntry): Promise<StoredTask | null> {
    const at = await c.buckets.tasks.getCurrent<StoredTask>(e.key, e.revision);
    if (at) return at.value;
    return (await this.records.get(c.buckets.tasks, e.id))?.value ?? null;
  }

  private async dropExpiredKeys(c: NatsContext, now: number, limit: number): Promise<void> {
    const expired = (await c.buckets.tasks.scan<KeyEntry>('k.>')).filter((e) => e.value.exp <= now).slice(0, limit);
    for (const e of expired) await c.buckets.tasks.deleteRevision(e.revision);
  }
}
