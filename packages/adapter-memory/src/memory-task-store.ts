// In-process TaskStore. Records live in one Map whose insertion order is creation order, so
// "oldest first" is iteration order and a limited list stops early. There is no per-state index:
// it cost more on the hot path than the occasional full scan (reconciler, purge) it saves, and
// retention keeps the map bounded. Every call does its work synchronously, which makes each
// state change atomic; records are copied in and out.
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
import { cloneJson, type MemoryState, type StoredTask } from './memory-state.js';

const POISON_PILL: Omit<StoredError, 'message'> = { name: 'PoisonPillError', code: 'POISON_PILL', stack: null };

export class MemoryTaskStore implements TaskStore {
  /** Idempotency key → the task it was last given to; the task holds the key's expiry. */
  private readonly keys = new Map<string, StoredTask>();
  private seq = 0;

  constructor(private readonly state: MemoryState) {}

  private get tasks(): Map<string, StoredTask> {
    return this.state.tasks;
  }

  async create(tasks: NewTask[]): Promise<CreateResult[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return tasks.map((t) => {
      const holder = this.keys.get(t.idempotencyKey);
      if (holder !== undefined && holder.keyExpiresAt > now) return { id: holder.id, duplicate: true };
      if (this.tasks.has(t.id)) return { id: t.id, duplicate: true };
      const record: StoredTask = {
        id: t.id,
        type: t.type,
        input: cloneJson(t.input),
        state: 'pending',
        idempotencyKey: t.idempotencyKey,
        runId: t.runId,
        phaseId: t.phaseId,
        attempt: 0,
        maxRetries: t.maxRetries,
        recoveries: 0,
        budget: t.budget === null ? null : { ...t.budget },
        usage: { costUsd: 0, tokens: 0 },
        leaseId: null,
        workerId: null,
        hasCheckpoint: false,
        result: null,
        error: null,
        durationMs: null,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        finishedAt: null,
        seq: ++this.seq,
        keyExpiresAt: now + t.keyTtlMs,
      };
      this.tasks.set(t.id, record);
      this.keys.set(t.idempotencyKey, record);
      return { id: t.id, duplicate: false };
    });
  }

  async get(id: string): Promise<TaskRecord | null> {
    this.state.assertOpen();
    const t = this.tasks.get(id);
    return t === undefined ? null : copyOut(t);
  }

  async list(filter: TaskFilter): Promise<TaskRecord[]> {
    this.state.assertOpen();
    const limit = Math.min(Math.max(filter.limit ?? 100, 0), 1000);
    const idleBefore = filter.idleForMs === undefined ? null : this.state.now() - filter.idleForMs;
    const states = filter.states === undefined ? null : new Set(filter.states);
    const matches = (t: StoredTask) =>
      (states === null || states.has(t.state)) &&
      (filter.type === undefined || t.type === filter.type) &&
      (filter.runId === undefined || t.runId === filter.runId) &&
      (filter.phaseId === undefined || t.phaseId === filter.phaseId) &&
      (idleBefore === null || t.updatedAt <= idleBefore);

    const found: StoredTask[] = [];
    if (filter.ids !== undefined) {
      for (const id of new Set(filter.ids)) {
        const t = this.tasks.get(id);
        if (t !== undefined && matches(t)) found.push(t);
      }
      found.sort((a, b) => a.seq - b.seq);
      if (found.length > limit) found.length = limit;
    } else {
      for (const t of this.tasks.values()) {
        if (found.length >= limit) break;
        if (matches(t)) found.push(t);
      }
    }
    return found.map(copyOut);
  }

  async counts(): Promise<TaskCount[]> {
    this.state.assertOpen();
    const groups = new Map<string, TaskCount>();
    for (const t of this.tasks.values()) {
      const k = `${t.state}\u0000${t.phaseId ?? ''}\u0000${t.phaseId === null ? 'n' : 'p'}`;
      const g = groups.get(k);
      if (g !== undefined) g.count++;
      else groups.set(k, { phaseId: t.phaseId, state: t.state, count: 1 });
    }
    return [...groups.values()];
  }

  async start(claims: StartClaim[]): Promise<StartResult[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return claims.map((c): StartResult => {
      const t = this.tasks.get(c.taskId);
      if (t === undefined) return { taskId: c.taskId, task: null, state: null };
      if (t.state !== 'pending') return { taskId: c.taskId, task: null, state: t.state };
      this.move(t, 'running', now);
      t.leaseId = c.leaseId;
      t.workerId = c.workerId;
      t.startedAt = now;
      return { taskId: c.taskId, task: copyOut(t) };
    });
  }

  async finish(outcomes: TaskOutcome[]): Promise<boolean[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return outcomes.map((o) => {
      const t = this.held(o.taskId, o.leaseId);
      if (t === undefined) return false;
      this.move(t, o.state, now);
      t.leaseId = null;
      t.workerId = null;
      if (o.result !== undefined) t.result = cloneJson(o.result);
      if (o.error !== undefined) t.error = { ...o.error };
      if (o.durationMs !== undefined) t.durationMs = o.durationMs;
      if (o.state === 'scheduled') t.attempt++;
      if (o.state === 'completed' || o.state === 'dead') t.finishedAt = now;
      return true;
    });
  }

  async recover(refs: { taskId: string; leaseId: string }[], maxRecoveries: number): Promise<RecoverResult[]> {
    this.state.assertOpen();
    const now = this.state.now();
    return refs.map((r): RecoverResult => {
      const t = this.held(r.taskId, r.leaseId);
      if (t === undefined) return 'skipped';
      t.leaseId = null;
      t.workerId = null;
      t.recoveries++;
      if (t.recoveries > maxRecoveries) {
        this.move(t, 'dead', now);
        t.finishedAt = now;
        t.error = {
          ...POISON_PILL,
          message: `Task ${t.id} was reclaimed ${t.recoveries} times after its worker stopped heartbeating (maxRecoveries ${maxRecoveries}); treated as a poison pill. Inspect it and re-run by hand.`,
        };
        return 'dead';
      }
      this.move(t, 'pending', now);
      return 'recovered';
    });
  }

  async transition(ids: string[], from: TaskState[], to: TaskState, error?: StoredError): Promise<string[]> {
    this.state.assertOpen();
    const now = this.state.now();
    const allowed = new Set(from);
    const moved: string[] = [];
    for (const id of new Set(ids)) {
      const t = this.tasks.get(id);
      if (t === undefined || !allowed.has(t.state)) continue;
      this.move(t, to, now);
      t.leaseId = null;
      t.workerId = null;
      if (error !== undefined) t.error = { ...error };
      if (isTerminal(to)) t.finishedAt = now;
      moved.push(id);
    }
    return moved;
  }

  async recordUsage(taskId: string, leaseId: string, delta: Usage): Promise<Usage | null> {
    this.state.assertOpen();
    const t = this.held(taskId, leaseId);
    if (t === undefined) return null;
    t.usage = { costUsd: t.usage.costUsd + (delta.costUsd || 0), tokens: t.usage.tokens + (delta.tokens || 0) };
    t.updatedAt = this.state.now();
    return { ...t.usage };
  }

  async cancelPhase(phaseId: string): Promise<string[]> {
    this.state.assertOpen();
    const ids: string[] = [];
    for (const t of this.tasks.values()) if (t.phaseId === phaseId && !isTerminal(t.state)) ids.push(t.id);
    return this.transition(ids, ['pending', 'running', 'scheduled'], 'cancelled');
  }

  async purge(options: PurgeOptions): Promise<number> {
    this.state.assertOpen();
    const cutoff = this.state.now() - options.olderThanMs;
    const inState: StoredTask[] = [];
    for (const t of this.tasks.values()) if (t.state === options.state) inState.push(t);
    // Newest first by finish time; everything past keepLatest, or finished before the cutoff, goes.
    inState.sort((a, b) => (b.finishedAt ?? b.updatedAt) - (a.finishedAt ?? a.updatedAt) || b.seq - a.seq);
    const victims: StoredTask[] = [];
    for (let i = inState.length - 1; i >= 0 && victims.length < options.limit; i--) {
      const t = inState[i]!;
      if (i >= options.keepLatest || (t.finishedAt ?? t.updatedAt) < cutoff) victims.push(t);
    }
    for (const t of victims) {
      this.tasks.delete(t.id);
      if (this.keys.get(t.idempotencyKey) === t) this.keys.delete(t.idempotencyKey);
      this.state.taskPurged(t.id);
    }
    return victims.length;
  }

  private held(taskId: string, leaseId: string): StoredTask | undefined {
    const t = this.tasks.get(taskId);
    return t !== undefined && t.state === 'running' && t.leaseId === leaseId ? t : undefined;
  }

  private move(t: StoredTask, to: TaskState, now: number): void {
    t.state = to;
    t.updatedAt = now;
  }
}

function copyOut(t: StoredTask): TaskRecord {
  return {
    id: t.id,
    type: t.type,
    input: cloneJson(t.input),
    state: t.state,
    idempotencyKey: t.idempotencyKey,
    runId: t.runId,
    phaseId: t.phaseId,
    attempt: t.attempt,
    maxRetries: t.maxRetries,
    recoveries: t.recoveries,
    budget: t.budget === null ? null : { ...t.budget },
    usage: { ...t.usage },
    leaseId: t.leaseId,
    workerId: t.workerId,
    hasCheckpoint: t.hasCheckpoint,
    result: cloneJson(t.result),
    error: t.error === null ? null : { ...t.error },
    durationMs: t.durationMs,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
  };
}
