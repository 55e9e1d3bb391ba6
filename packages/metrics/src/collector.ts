// Turns what core reports — the instrumentation hooks around enqueue, run and checkpoint, the
// lifecycle events of this process (`baton.on('*')`) and, on collection, `baton.stats()` and
// `baton.admin.stats()` — into the measurements of definitions.ts, through any MetricSink.
//
// Where each metric comes from, and why:
// - enqueued, started, run duration, start latency, checkpoints: the hooks, which carry the task
//   (queue and type) and bracket the work, so durations are measured where the work happens.
// - completed, failed, dead, retried, cancelled, lease losses, recoveries, breaker transitions:
//   the events, because several of these outcomes happen outside any run (a recovery by the
//   supervisor, a poison pill, a quarantine, an operator retry). The queue and type come with
//   the event where core puts them there (completed, failed, dead after a run), else from the run
//   in progress (its events arrive before its `end`), else from one read of the task (rare
//   paths: recoveries, operator actions), bounded so a burst cannot flood the backend.
// - gauges: sampled from the backend on collection (or an interval), never per task.
import type { Baton, CheckpointInfo, EnqueueInfo, EnqueueScope, Instrumentation, NewEvent, RunInfo, RunOutcome, RunScope, TaskRecord } from '@baton/core';
import { METRICS, METRIC_LIST, type MetricDefinition } from './definitions.js';
import { errorCodeOf, LabelGuard } from './labels.js';
import { Sampler } from './sampler.js';
import type { Reading, HistogramInstrument, Labels, MetricSink } from './sink.js';

/** What the collector reads from a baton (a structural subset of `Baton`, so fakes are easy in tests). */
export type ObservedBaton = Pick<Baton, 'on' | 'getTask' | 'stats' | 'admin' | 'pool'>;

export interface CollectorOptions {
  /**
   * Report the fleet-wide gauges (queue depths, oldest wait, breakers, stored checkpoints), read
   * from the backend on collection. Every process reports the same fleet-wide values: keep them
   * on in one process (or aggregate with max, not sum). @default true
   */
  fleetGauges?: boolean;
  /** A backend sample younger than this is reused by the next collection. @default 10_000 */
  sampleMaxAgeMs?: number;
  /** Sample the backend on this interval instead of on collection (ms); collection reads the last sample. */
  sampleIntervalMs?: number;
  /** How long one backend sample may take; past it that collection reports no fleet gauges. @default 2_000 */
  sampleTimeoutMs?: number;
  /** Distinct values kept per label; further values are reported as "other". @default 200 */
  maxLabelValues?: number;
  /** Most task reads (labels of events outside a run) in flight at once; events past it are labelled "unknown". @default 32 */
  maxLookups?: number;
}

const UNKNOWN: Labels = Object.freeze({ queue: 'unknown', type: 'unknown' });

/** The outcome label of a run. */
export function runOutcomeLabel(outcome: RunOutcome): string {
  if (outcome.state === 'failed') return outcome.willRetry ? 'retry' : 'dead';
  return outcome.state;
}

interface FleetSample {
  stats: Awaited<ReturnType<Baton['stats']>>;
  byQueue: Awaited<ReturnType<Baton['admin']['stats']>>;
}

/** One run's scope: a class, not a literal of closures, as one is made per task. */
class RunTimer implements RunScope {
  private readonly began = performance.now();

  constructor(
    private readonly metrics: BatonMetrics,
    private readonly task: TaskRecord,
    private readonly labels: Labels,
  ) {}

  end(outcome: RunOutcome): void {
    this.metrics.ended(this.task, this.labels, (performance.now() - this.began) / 1_000, outcome);
  }
}

type CounterKey = { [K in keyof typeof METRICS]: (typeof METRICS)[K]['kind'] extends 'counter' ? K : never }[keyof typeof METRICS];

export class BatonMetrics implements Instrumentation {
  private readonly guard: LabelGuard;
  /** Counter totals by label set (the cached, frozen label objects): read by the sink at collection. */
  private readonly totals = new Map<CounterKey, Map<Labels, number>>();
  /** Interned label sets of the rarer counters (breakers, sample failures). */
  private readonly interned = new Map<string, Labels>();
  private readonly runDuration: HistogramInstrument;
  private readonly startLatency: HistogramInstrument;
  private readonly checkpointSize: HistogramInstrument;
  /** Labels of the runs in progress here, by task id: the events of a run arrive before its end. */
  private readonly running = new Map<string, Labels>();
  /** Base labels by queue and type, so the hot path does not build a new object per task. */
  private readonly base = new Map<string, Labels>();
  private readonly lookups = new Set<Promise<void>>();
  private baton: ObservedBaton | null = null;
  private unsubscribe: (() => void) | null = null;
  private sampler: Sampler<FleetSample> | null = null;
  private readonly options: Required<Omit<CollectorOptions, 'sampleIntervalMs'>> & Pick<CollectorOptions, 'sampleIntervalMs'>;

  constructor(sink: MetricSink, options: CollectorOptions = {}) {
    this.options = {
      fleetGauges: options.fleetGauges ?? true,
      sampleMaxAgeMs: options.sampleMaxAgeMs ?? 10_000,
      sampleTimeoutMs: options.sampleTimeoutMs ?? 2_000,
      maxLabelValues: options.maxLabelValues ?? 200,
      maxLookups: options.maxLookups ?? 32,
      ...(options.sampleIntervalMs === undefined ? {} : { sampleIntervalMs: options.sampleIntervalMs }),
    };
    this.guard = new LabelGuard(this.options.maxLabelValues);
    const counters = (Object.entries(METRICS) as [keyof typeof METRICS, MetricDefinition][]).filter(([, def]) => def.kind === 'counter') as [CounterKey, MetricDefinition][];
    for (const [key] of counters) this.totals.set(key, new Map());
    sink.counters(
      counters.map(([, def]) => def),
      () => counters.flatMap(([key, metric]) => [...this.totals.get(key)!].map(([labels, value]) => ({ metric, labels, value }))),
    );
    this.runDuration = sink.histogram(METRICS.runDuration);
    this.startLatency = sink.histogram(METRICS.startLatency);
    this.checkpointSize = sink.histogram(METRICS.checkpointSize);
    sink.gauges(
      METRIC_LIST.filter((m) => m.kind === 'gauge'),
      () => this.readGauges(),
    );
  }

  /**
   * Subscribes to the baton's events (completions, failures, recoveries, breakers …) and serves
   * the gauges from it. Call once, after createBaton; returns the function that stops observing.
   */
  observe(baton: ObservedBaton): () => void {
    this.unsubscribe?.();
    this.sampler?.stop();
    this.baton = baton;
    const off = baton.on('*', (e) => this.onEvent(e));
    if (this.options.fleetGauges) {
      this.sampler = new Sampler<FleetSample>(
        async () => {
          const [stats, byQueue] = await Promise.all([baton.stats(), baton.admin.stats({ by: 'queue' })]);
          return { stats, byQueue };
        },
        { maxAgeMs: this.options.sampleMaxAgeMs, timeoutMs: this.options.sampleTimeoutMs, ...(this.options.sampleIntervalMs === undefined ? {} : { intervalMs: this.options.sampleIntervalMs }) },
        () => this.count('sampleFailures', this.intern({})),
      );
    }
    this.unsubscribe = () => {
      off();
      this.sampler?.stop();
      this.sampler = null;
      this.baton = null;
      this.unsubscribe = null;
    };
    return this.unsubscribe;
  }

  /** Resolves once the task reads started so far (labels of events outside runs) have been recorded. */
  async settled(): Promise<void> {
    while (this.lookups.size > 0) await Promise.all([...this.lookups]);
  }

  enqueue(tasks: readonly EnqueueInfo[]): EnqueueScope {
    return {
      end: ({ error, created }) => {
        // A batch is mostly one queue and type: add once per label set, not once per task.
        const sums = new Map<Labels, number>();
        tasks.forEach((t, i) => {
          const outcome = error !== undefined ? 'error' : created?.[i] === false ? 'duplicate' : 'created';
          const labels = this.withLabel(this.labelsOf(t.queue, t.type), 'outcome', outcome);
          sums.set(labels, (sums.get(labels) ?? 0) + 1);
        });
        for (const [labels, n] of sums) this.count('tasksEnqueued', labels, n);
      },
    };
  }

  run(info: RunInfo): RunScope {
    const { task } = info;
    const labels = this.labelsOf(task.queue, task.type);
    this.running.set(task.id, labels);
    this.count('tasksStarted', labels);
    if (task.attempt === 0 && task.recoveries === 0 && task.startedAt !== null) {
      this.startLatency.record(Math.max(0, task.startedAt - task.createdAt) / 1_000, labels);
    }
    return new RunTimer(this, task, labels);
  }

  /** A run ended: called by its RunTimer, not by applications. @internal */
  ended(task: TaskRecord, labels: Labels, seconds: number, outcome: RunOutcome): void {
    this.runDuration.record(seconds, this.withLabel(labels, 'outcome', runOutcomeLabel(outcome)));
    this.running.delete(task.id);
    // The run's spend: the totals after it (its reports) less the totals it started with.
    const cost = outcome.usage.costUsd - task.usage.costUsd;
    const tokens = outcome.usage.tokens - task.usage.tokens;
    if (cost > 0) this.count('usageCost', labels, cost);
    if (tokens > 0) this.count('usageTokens', labels, tokens);
  }

  checkpoint(info: CheckpointInfo): { end(error?: unknown): void } {
    const labels = this.running.get(info.task.id) ?? this.labelsOf(info.task.queue, info.task.type);
    return {
      end: (error) => {
        if (error === undefined) {
          this.count('checkpointSaves', this.withLabel(labels, 'outcome', 'saved'));
          this.checkpointSize.record(info.sizeBytes, labels);
        } else {
          const lost = (error as { code?: unknown } | null)?.code === 'LEASE_LOST';
          this.count('checkpointSaves', this.withLabel(labels, 'outcome', lost ? 'lease_lost' : 'failed'));
        }
      },
    };
  }

  private onEvent(e: NewEvent): void {
    switch (e.type) {
      case 'task.completed':
        return this.forTask(e, (l) => this.count('tasksCompleted', l));
      case 'task.failed':
        return this.forTask(e, (l) => this.count('tasksFailed', this.withLabel(l, 'error_code', errorCodeOf(e.data.code))));
      case 'task.dead': {
        // Dead by poison pill is reported with a reason, not a code.
        const code = e.data.code ?? (e.data.reason === 'poison_pill' ? 'POISON_PILL' : undefined);
        return this.forTask(e, (l) => this.count('tasksDead', this.withLabel(l, 'error_code', errorCodeOf(code))));
      }
      case 'task.retry_scheduled':
        return this.forTask(e, (l) => this.count('tasksRetried', this.withLabel(l, 'trigger', 'backoff')));
      case 'task.retried':
        return this.forTask(e, (l) => this.count('tasksRetried', this.withLabel(l, 'trigger', 'operator')));
      case 'task.cancelled':
        return this.forTask(e, (l) => this.count('tasksCancelled', l));
      case 'task.lease_lost':
        return this.forTask(e, (l) => this.count('leaseLosses', l));
      case 'task.recovered':
        return this.forTask(e, (l) => this.count('recoveries', l));
      case 'breaker.opened':
      case 'breaker.half_open':
      case 'breaker.closed': {
        const type = typeof e.data.taskType === 'string' ? e.data.taskType : 'unknown';
        const state = e.type === 'breaker.opened' ? 'open' : e.type === 'breaker.half_open' ? 'half_open' : 'closed';
        this.count('breakerTransitions', this.intern({ type: this.guard.value('type', type), state }));
        return;
      }
      default:
        return;
    }
  }

  /**
   * Calls `fn` with the queue and type of the event's task: carried by the event (completions and
   * failures of runs), else from the run in progress, else one bounded read.
   */
  private forTask(e: NewEvent, fn: (labels: Labels) => void): void {
    const { queue, type } = e.data;
    if (typeof queue === 'string' && typeof type === 'string') return fn(this.labelsOf(queue, type));
    const id = e.taskId;
    const known = id === null ? undefined : this.running.get(id);
    if (known) return fn(known);
    if (id === null || this.baton === null || this.lookups.size >= this.options.maxLookups) return fn(UNKNOWN);
    this.track(
      this.baton.getTask(id).then(
        (t) => fn(t ? this.labelsOf(t.queue, t.type) : UNKNOWN),
        () => fn(UNKNOWN),
      ),
    );
  }

  private track(p: Promise<void>): void {
    const tracked: Promise<void> = p.finally(() => this.lookups.delete(tracked));
    this.lookups.add(tracked);
  }

  /** Adds to a counter series; `labels` must be a cached label object (labelsOf, withLabel, intern). */
  private count(key: CounterKey, labels: Labels, n = 1): void {
    const series = this.totals.get(key)!;
    series.set(labels, (series.get(labels) ?? 0) + n);
  }

  private intern(labels: Labels): Labels {
    const key = JSON.stringify(labels);
    let found = this.interned.get(key);
    if (!found) this.interned.set(key, (found = Object.freeze(labels)));
    return found;
  }

  private labelsOf(queue: string, type: string): Labels {
    const q = this.guard.value('queue', queue);
    const t = this.guard.value('type', type);
    const key = `${q}\u0000${t}`;
    let labels = this.base.get(key);
    if (!labels) this.base.set(key, (labels = Object.freeze({ queue: q, type: t })));
    return labels;
  }

  /** The base labels plus one more, cached: the label sets of a process are few and reused per task. */
  private readonly extended = new WeakMap<Labels, Map<string, Labels>>();
  private withLabel(base: Labels, key: 'outcome' | 'error_code' | 'trigger', value: string): Labels {
    let byValue = this.extended.get(base);
    if (!byValue) this.extended.set(base, (byValue = new Map()));
    // Keyed by the guarded value: two raw codes past the limit are one "other" series, one object.
    const v = key === 'error_code' ? this.guard.value(key, value) : value;
    const k = key[0] + v;
    let labels = byValue.get(k);
    if (!labels) byValue.set(k, (labels = Object.freeze({ ...base, [key]: v })));
    return labels;
  }

  private async readGauges(): Promise<Reading[]> {
    const baton = this.baton;
    if (baton === null) return [];
    const out: Reading[] = [];
    const pool = baton.pool.stats();
    out.push({ metric: METRICS.workerSlots, value: pool.running ? pool.slots : 0, labels: {} });
    out.push({ metric: METRICS.workerBusy, value: pool.busy, labels: {} });
    const sample = await this.sampler?.get();
    if (!sample) return out;
    const { stats, byQueue } = sample;
    for (const g of byQueue) {
      if (g.key === null) continue;
      const queue = this.guard.value('queue', g.key);
      for (const [state, n] of Object.entries(g.counts)) out.push({ metric: METRICS.queueTasks, value: n, labels: { queue, state } });
      out.push({ metric: METRICS.queueOldestWaiting, value: (g.oldestWaitingMs ?? 0) / 1_000, labels: { queue } });
    }
    for (const q of stats.queues) {
      const queue = this.guard.value('queue', q.name);
      for (const state of ['ready', 'delayed', 'leased', 'expired'] as const) out.push({ metric: METRICS.queueDeliveries, value: q.depth[state], labels: { queue, state } });
      out.push({ metric: METRICS.queuePaused, value: q.paused ? 1 : 0, labels: { queue } });
    }
    for (const [type, current] of Object.entries(stats.breakers)) {
      const t = this.guard.value('type', type);
      for (const state of ['closed', 'half_open', 'open'] as const) out.push({ metric: METRICS.breakerState, value: state === current ? 1 : 0, labels: { type: t, state } });
    }
    out.push({ metric: METRICS.checkpointsStored, value: stats.checkpoints.count, labels: {} });
    out.push({ metric: METRICS.checkpointsStoredBytes, value: stats.checkpoints.totalBytes, labels: {} });
    return out;
  }
}
