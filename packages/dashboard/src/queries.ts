// What each page reads, built only from the admin API (`baton.admin`, `baton.queues`,
// `baton.queryEvents`) so it works the same on every backend. Every read is bounded: lists are
// server-side pages, counts come from admin.stats (grouped counts, never a scan of the tasks).
import { NotFoundError, TASK_STATES, ValidationError, isBatonError, type Baton, type GroupStats, type QueueInfo, type StoredEvent, type TaskFilterInput, type TaskRecord, type TaskState, type TimerRecord } from '@baton/core';
import type {
  CheckpointView,
  CountsResponse,
  OverviewResponse,
  PhaseDetailResponse,
  PhaseRow,
  PhasesResponse,
  QueueOverview,
  StateCounts,
  TaskDetailResponse,
  TaskListResponse,
  TaskSummary,
  TimersResponse,
  TimerView,
} from './api-types.js';
import type { EventSeries } from './series.js';

/** The most tasks a runs/phases view reads to add up budgets and usage. */
const PHASE_SCAN_LIMIT = 10_000;
/** The most events a task's timeline reads. */
const TIMELINE_LIMIT = 5_000;
const DUE_SOON_MS = 60_000;

/**
 * Grouped counts and queue settings, shared by every request for a moment. On a large store a
 * grouped count is the dashboard's most expensive read (a scan in most backends): several tabs
 * polling at once, or the overview and the list in one tab, then cost one count, not several.
 * Concurrent callers share one read in flight.
 */
export class ReadCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();
  constructor(
    private readonly baton: Baton,
    private readonly ttlMs = 1_000,
  ) {}

  stats(by: 'queue' | 'type' | 'phase'): Promise<GroupStats[]> {
    return this.get(`stats:${by}`, this.ttlMs, () => this.baton.admin.stats({ by }));
  }

  /** Queue limits change rarely (and `paused` comes fresh from stats), so they are kept longer. */
  queues(): Promise<QueueInfo[]> {
    return this.get('queues', this.ttlMs * 5, () => this.baton.queues.list());
  }

  /** After an action: the next read shows its effect. */
  clear(): void {
    this.entries.clear();
  }

  private get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.entries.set(key, { at: now, value });
    // A failed read is not cached: the next request tries again.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}

export function emptyCounts(): StateCounts {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as StateCounts;
}

function addCounts(into: StateCounts, from: StateCounts): StateCounts {
  for (const s of TASK_STATES) into[s] += from[s];
  return into;
}

/** The backend's clock when it has one (memory), else this process's: stored times are on it. */
export function backendNow(baton: Baton): number {
  return baton.backend.clock?.now() ?? Date.now();
}

export async function overview(baton: Baton, cache: ReadCache, series: EventSeries): Promise<OverviewResponse> {
  const now = backendNow(baton);
  const [stats, queues] = await Promise.all([cache.stats('queue'), cache.queues(), series.refresh(now)]);
  const settings = new Map(queues.map((q) => [q.name, q]));
  const totals = emptyCounts();
  const rows: QueueOverview[] = stats
    .filter((g): g is GroupStats & { key: string } => g.key !== null)
    .map((g) => {
      addCounts(totals, g.counts);
      const q = settings.get(g.key);
      return {
        name: g.key,
        counts: g.counts,
        oldestWaitingMs: g.oldestWaitingMs,
        runningPastLease: g.runningPastLease,
        paused: g.paused ?? q?.paused ?? false,
        concurrency: q?.concurrency ?? null,
        rateLimit: q?.rateLimit ?? null,
        groupConcurrency: q?.groupConcurrency ?? null,
        depth: q?.depth ?? null,
        series: series.sparkline(g.key, now),
      };
    });
  return { now, backend: baton.backend.name, queues: rows, totals, series: series.info(now) };
}

export function summarise(t: TaskRecord): TaskSummary {
  return {
    id: t.id,
    type: t.type,
    queue: t.queue,
    state: t.state,
    priority: t.priority,
    runId: t.runId,
    phaseId: t.phaseId,
    attempt: t.attempt,
    maxRetries: t.maxRetries,
    recoveries: t.recoveries,
    workerId: t.workerId,
    progress: t.progress,
    error: t.error?.message ?? null,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    finishedAt: t.finishedAt,
  };
}

/** Parses a time filter: epoch ms, or an ISO date the browser's datetime input sends. */
function parseTime(name: string, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`${name} must be epoch milliseconds or an ISO date; got ${JSON.stringify(value.slice(0, 40))}.`);
  return ms;
}

/** The task filter of a list request's query string (each field optional; states comma-separated). */
export function filterFromQuery(params: URLSearchParams): TaskFilterInput {
  const filter: TaskFilterInput = {};
  const states = params
    .getAll('state')
    .flatMap((s) => s.split(','))
    .filter((s) => s !== '');
  if (states.length > 0) filter.state = states as TaskState[];
  for (const key of ['type', 'queue', 'runId', 'phaseId'] as const) {
    const v = params.get(key);
    if (v !== null && v !== '') filter[key] = v;
  }
  const since = parseTime('since', params.get('since'));
  if (since !== undefined) filter.since = since;
  const until = parseTime('until', params.get('until'));
  if (until !== undefined) filter.until = until;
  return filter;
}

export async function listTasks(baton: Baton, params: URLSearchParams): Promise<TaskListResponse> {
  const q = (params.get('q') ?? '').trim();
  if (q !== '') {
    // Search by id. A search by idempotency key needs a key filter the admin API lacks (proposed:
    // `listTasks({ idempotencyKey })`); until then the box finds ids only.
    try {
      const { task } = await baton.admin.getTask(q);
      return { tasks: [summarise(task)], cursor: null, matched: 'id' };
    } catch (err) {
      if (isBatonError(err) && (err instanceof NotFoundError || err.code === 'NOT_FOUND' || err.code === 'VALIDATION')) return { tasks: [], cursor: null, matched: null };
      throw err;
    }
  }
  const filter = filterFromQuery(params);
  const limitParam = params.get('limit');
  const limit = limitParam === null ? 50 : Math.min(200, Math.max(1, Number.parseInt(limitParam, 10) || 50));
  const cursor = params.get('cursor');
  const page = await baton.admin.listTasks(filter, { limit, ...(cursor ? { cursor } : {}) });
  return { tasks: page.tasks.map(summarise), cursor: page.cursor, matched: null };
}

/**
 * Counts by state for the list's filter chips, from admin.stats (a separate request, so a page of
 * tasks never waits for a count): of the filtered queue, type or phase, else of all tasks; null
 * when the filter combines fields no single grouping answers.
 */
export async function listCounts(cache: ReadCache, params: URLSearchParams): Promise<CountsResponse> {
  const filter = filterFromQuery(params);
  if (filter.runId !== undefined || filter.since !== undefined || filter.until !== undefined) return { counts: null };
  const keys = (['queue', 'type', 'phaseId'] as const).filter((k) => filter[k] !== undefined);
  if (keys.length > 1) return { counts: null };
  const field = keys[0];
  const groups = await cache.stats(field === 'phaseId' ? 'phase' : (field ?? 'queue'));
  if (field === undefined) return { counts: groups.reduce((acc, g) => addCounts(acc, g.counts), emptyCounts()) };
  return { counts: groups.find((g) => g.key === filter[field])?.counts ?? emptyCounts() };
}

export async function taskDetail(baton: Baton, id: string): Promise<TaskDetailResponse> {
  const details = await baton.admin.getTask(id, { checkpoint: true, events: true });
  let events: StoredEvent[] = details.events ?? [];
  // getTask returns a task's first 1000 events; the end of a long timeline matters most, so read on.
  while (events.length > 0 && events.length % 1_000 === 0 && events.length < TIMELINE_LIMIT) {
    const more = await baton.queryEvents({ taskId: id, after: events[events.length - 1]!.seq, limit: 1_000 });
    if (more.length === 0) break;
    events = events.concat(more);
  }
  const c = details.checkpoint;
  const checkpoint: CheckpointView | null = c
    ? { token: c.token, sizeBytes: c.sizeBytes, storedBytes: c.storedBytes, encoding: c.encoding, updatedAt: c.updatedAt, data: c.data ?? null, error: c.error ?? null }
    : null;
  return { now: backendNow(baton), task: details.task, checkpoint, events, eventsTruncated: events.length >= TIMELINE_LIMIT };
}

export async function phases(baton: Baton, cache: ReadCache, runId: string | null): Promise<PhasesResponse> {
  if (runId === null || runId === '') {
    const rows: PhaseRow[] = (await cache.stats('phase'))
      .filter((g): g is GroupStats & { key: string } => g.key !== null)
      .map((g) => ({ phaseId: g.key, counts: g.counts, total: TASK_STATES.reduce((n, s) => n + g.counts[s], 0) }));
    return { phases: rows, runId: null, truncated: false };
  }
  // No per-run grouping in the admin API (proposed: `stats({ by: 'phase', runId })`): read the run's tasks, bounded.
  const byPhase = new Map<string, StateCounts>();
  const { truncated } = await scan(baton, { runId }, (t) => {
    if (t.phaseId === null) return;
    let c = byPhase.get(t.phaseId);
    if (!c) byPhase.set(t.phaseId, (c = emptyCounts()));
    c[t.state]++;
  });
  const rows = [...byPhase].map(([phaseId, counts]) => ({ phaseId, counts, total: TASK_STATES.reduce((n, s) => n + counts[s], 0) }));
  return { phases: rows, runId, truncated };
}

export async function phaseDetail(baton: Baton, phaseId: string): Promise<PhaseDetailResponse> {
  const counts = emptyCounts();
  const runIds = new Set<string>();
  const budget = { costUsd: null as number | null, tokens: null as number | null, timeMs: null as number | null };
  const usage = { costUsd: 0, tokens: 0 };
  const tasks: PhaseDetailResponse['tasks'] = [];
  const { truncated } = await scan(baton, { phaseId }, (t) => {
    counts[t.state]++;
    if (t.runId !== null) runIds.add(t.runId);
    for (const k of ['costUsd', 'tokens', 'timeMs'] as const) {
      const v = t.budget?.[k];
      if (typeof v === 'number') budget[k] = (budget[k] ?? 0) + v;
    }
    usage.costUsd += t.usage.costUsd;
    usage.tokens += t.usage.tokens;
    if (tasks.length < 500) tasks.push({ id: t.id, type: t.type, state: t.state, budget: t.budget, usage: t.usage, progress: t.progress });
  });
  return { phaseId, runIds: [...runIds], counts, budget, usage, tasks, truncated };
}

async function scan(baton: Baton, filter: TaskFilterInput, visit: (t: TaskRecord) => void): Promise<{ truncated: boolean }> {
  let cursor: string | null = null;
  let seen = 0;
  do {
    const page: { tasks: TaskRecord[]; cursor: string | null } = await baton.admin.listTasks(filter, { limit: 1_000, ...(cursor ? { cursor } : {}) });
    page.tasks.forEach(visit);
    seen += page.tasks.length;
    cursor = page.cursor;
  } while (cursor !== null && seen < PHASE_SCAN_LIMIT);
  return { truncated: cursor !== null };
}

/** Pending timers, earliest due first. */
export async function timers(baton: Baton): Promise<TimersResponse> {
  const limit = 1_000;
  const now = backendNow(baton);
  const list: TimerRecord[] = await baton.admin.listTimers({}, { limit });
  const views: TimerView[] = list.map((t) => ({
    id: t.id,
    kind: t.kind,
    name: t.name,
    key: t.key,
    taskId: t.taskId,
    phaseId: t.phaseId,
    dueAt: t.dueAt,
    createdAt: t.createdAt,
    payload: t.payload,
    // Overdue as baton.health() counts it: more than a second past due and still not fired.
    status: t.dueAt < now - 1_000 ? 'overdue' : t.dueAt <= now + DUE_SOON_MS ? 'due-soon' : 'pending',
  }));
  return { now, timers: views, dueSoonMs: DUE_SOON_MS, truncated: list.length >= limit };
}
