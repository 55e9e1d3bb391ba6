// The collector against a recording sink and a fake baton: which event feeds which metric with
// which labels, reads of the task for events that carry no queue and type (bounded), label
// cardinality limits, usage reads, and the backend sampler (cached, timed out, on an interval).
import { describe, expect, it } from 'vitest';
import type { NewEvent, TaskRecord } from '@baton/core';
import { BatonMetrics, errorCodeOf, METRICS, OVERFLOW, type Reading, type Labels, type MetricDefinition, type MetricSink, type ObservedBaton } from '../src/index.js';

function recordingSink() {
  const observed: { metric: string; labels: Labels; value: number }[] = [];
  let read: () => Promise<Reading[]> = async () => [];
  let readCounters: () => Reading[] = () => [];
  // Counter totals as flat records (one per series), read fresh at each access like a scrape.
  const counts = new Proxy([] as { metric: string; labels: Labels; value: number }[], {
    get(_t, prop) {
      const now = readCounters().map((r) => ({ metric: r.metric.prom, labels: r.labels, value: r.value }));
      const v = Reflect.get(now, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(now) : v;
    },
  });
  const sink: MetricSink = {
    counters: (_defs, r) => void (readCounters = r),
    histogram: (def: MetricDefinition) => ({ record: (value, labels) => observed.push({ metric: def.prom, labels, value }) }),
    gauges: (_defs, r) => void (read = r),
  };
  return { sink, counts, observed, gauges: () => read() };
}

const total = (counts: { metric: string; labels: Labels; value: number }[], metric: string, labels: Labels = {}) =>
  counts.filter((c) => c.metric === metric && Object.entries(labels).every(([k, v]) => c.labels[k as keyof Labels] === v)).reduce((n, c) => n + c.value, 0);

function task(over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: 't1', type: 'email', queue: 'mail', priority: 0, group: null, input: null, state: 'running', idempotencyKey: 'k', runId: null, phaseId: null,
    attempt: 0, maxRetries: 3, recoveries: 0, budget: null, usage: { costUsd: 0, tokens: 0 }, progress: null, leaseId: 'l', workerId: 'w', hasCheckpoint: false,
    result: null, error: null, durationMs: null, createdAt: 1_000, updatedAt: 3_500, startedAt: 3_500, heartbeatAt: 3_500, finishedAt: null, traceContext: null, corruption: null,
    ...over,
  };
}

function event(type: NewEvent['type'], taskId: string | null, data: NewEvent['data'] = {}): NewEvent {
  return { id: 'e', type, at: 0, runId: null, phaseId: null, taskId, workerId: 'w', data };
}

/** A baton stand-in: emits events on demand, answers getTask from a map (optionally never). */
function fakeBaton(tasks: Record<string, TaskRecord> = {}, opts: { hangGetTask?: boolean; stats?: () => Promise<never> } = {}) {
  const listeners: ((e: NewEvent) => void)[] = [];
  let reads = 0;
  let statsCalls = 0;
  const baton = {
    on: (_type: string, l: (e: NewEvent) => void) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
    getTask: async (id: string) => {
      reads++;
      if (opts.hangGetTask) await new Promise(() => undefined);
      return tasks[id] ?? null;
    },
    stats: async () => {
      statsCalls++;
      if (opts.stats) return opts.stats();
      return {
        queues: [{ name: 'mail', paused: false, depth: { ready: 4, leased: 1, expired: 0, delayed: 2 } }],
        breakers: { email: 'open' },
        checkpoints: { count: 3, totalBytes: 1_234, avgBytes: 411 },
      };
    },
    admin: { stats: async () => [{ key: 'mail', counts: { pending: 4, running: 1, scheduled: 0, completed: 9, dead: 1, cancelled: 0 }, oldestWaitingMs: 2_500, runningPastLease: 0 }] },
    pool: { stats: () => ({ slots: 8, busy: 3, running: true, queues: ['mail'] }) },
  };
  return { baton: baton as unknown as ObservedBaton, emit: (e: NewEvent) => listeners.forEach((l) => l(e)), reads: () => reads, statsCalls: () => statsCalls, listeners };
}

describe('BatonMetrics', () => {
  it('runs: started, first-start latency, duration by outcome; events of the run use its labels', async () => {
    const { sink, counts, observed } = recordingSink();
    const m = new BatonMetrics(sink);
    const fake = fakeBaton();
    m.observe(fake.baton);
    const scope = m.run({ task: task(), workerId: 'w', resumedFrom: null });
    fake.emit(event('task.failed', 't1', { code: 'ECONNRESET' }));
    fake.emit(event('task.retry_scheduled', 't1', { attempt: 1, delayMs: 1_000 }));
    fake.emit(event('task.lease_lost', 't1'));
    scope.end({ state: 'failed', error: new Error('x'), willRetry: true, usage: { costUsd: 0, tokens: 0 } });
    expect(fake.reads()).toBe(0);
    expect(total(counts, 'baton_tasks_started_total', { queue: 'mail', type: 'email' })).toBe(1);
    expect(total(counts, 'baton_tasks_failed_total', { queue: 'mail', error_code: 'ECONNRESET' })).toBe(1);
    expect(total(counts, 'baton_tasks_retried_total', { trigger: 'backoff', type: 'email' })).toBe(1);
    expect(total(counts, 'baton_task_lease_losses_total', { type: 'email' })).toBe(1);
    expect(observed.filter((o) => o.metric === 'baton_task_start_latency_seconds').map((o) => o.value)).toEqual([2.5]);
    expect(observed.find((o) => o.metric === 'baton_task_run_duration_seconds')?.labels).toEqual({ queue: 'mail', type: 'email', outcome: 'retry' });

    // A retry and a run after a recovery are not first starts.
    m.run({ task: task({ attempt: 1 }), workerId: 'w', resumedFrom: null }).end({ state: 'completed', usage: { costUsd: 0, tokens: 0 } });
    m.run({ task: task({ recoveries: 1 }), workerId: 'w', resumedFrom: 'cp' }).end({ state: 'lease_lost', reason: 'heartbeat refused', usage: { costUsd: 0, tokens: 0 } });
    expect(observed.filter((o) => o.metric === 'baton_task_start_latency_seconds')).toHaveLength(1);
    expect(observed.filter((o) => o.metric === 'baton_task_run_duration_seconds').map((o) => o.labels.outcome)).toEqual(['retry', 'completed', 'lease_lost']);
  });

  it('events outside a run: labels from the event, else one read of the task, else "unknown" past maxLookups', async () => {
    const { sink, counts } = recordingSink();
    const m = new BatonMetrics(sink, { maxLookups: 1 });
    const fake = fakeBaton({ a: task({ id: 'a', queue: 'q', type: 'x' }) });
    m.observe(fake.baton);
    fake.emit(event('task.dead', 'z', { code: 'CORRUPT_RECORD', queue: 'q2', type: 'y' }));
    fake.emit(event('task.recovered', 'a'));
    fake.emit(event('task.dead', 'b', { reason: 'poison_pill' })); // one lookup is in flight already
    await m.settled();
    expect(fake.reads()).toBe(1);
    expect(total(counts, 'baton_tasks_dead_total', { queue: 'q2', type: 'y', error_code: 'CORRUPT_RECORD' })).toBe(1);
    expect(total(counts, 'baton_task_recoveries_total', { queue: 'q', type: 'x' })).toBe(1);
    expect(total(counts, 'baton_tasks_dead_total', { queue: 'unknown', type: 'unknown', error_code: 'POISON_PILL' })).toBe(1);
    // A task that is gone (purged) is counted as unknown too.
    fake.emit(event('task.retried', 'gone'));
    await m.settled();
    expect(total(counts, 'baton_tasks_retried_total', { queue: 'unknown', trigger: 'operator' })).toBe(1);
  });

  it('breaker transitions by type and new state; enqueue outcomes summed per label set', () => {
    const { sink, counts } = recordingSink();
    const m = new BatonMetrics(sink);
    const fake = fakeBaton();
    m.observe(fake.baton);
    fake.emit(event('breaker.opened', null, { taskType: 'email', from: 'closed' }));
    fake.emit(event('breaker.half_open', null, { taskType: 'email', from: 'open' }));
    expect(counts.filter((c) => c.metric === 'baton_breaker_transitions_total').map((c) => c.labels)).toEqual([
      { type: 'email', state: 'open' },
      { type: 'email', state: 'half_open' },
    ]);
    const scope = m.enqueue([
      { taskId: '1', type: 'a', queue: 'q' },
      { taskId: '2', type: 'a', queue: 'q' },
      { taskId: '3', type: 'a', queue: 'q' },
    ]);
    scope.end({ created: [true, false, true] });
    expect(counts.filter((c) => c.metric === 'baton_tasks_enqueued_total').map((c) => [c.labels.outcome, c.value])).toEqual([
      ['created', 2],
      ['duplicate', 1],
    ]);
    m.enqueue([{ taskId: '4', type: 'a', queue: 'q' }]).end({ error: new Error('down') });
    expect(total(counts, 'baton_tasks_enqueued_total', { outcome: 'error' })).toBe(1);
  });

  it('labels stay bounded: past maxLabelValues a new queue or type is "other"; error codes are sanitised', () => {
    const { sink, counts } = recordingSink();
    const m = new BatonMetrics(sink, { maxLabelValues: 2 });
    for (const q of ['a', 'b', 'c', 'a']) m.run({ task: task({ queue: q }), workerId: 'w', resumedFrom: null }).end({ state: 'completed', usage: { costUsd: 0, tokens: 0 } });
    expect(counts.filter((c) => c.metric === 'baton_tasks_started_total').map((c) => [c.labels.queue, c.value])).toEqual([
      ['a', 2],
      ['b', 1],
      [OVERFLOW, 1],
    ]);
    expect(errorCodeOf('ECONNRESET')).toBe('ECONNRESET');
    expect(errorCodeOf('not a code: user text with spaces')).toBe('ERROR');
    expect(errorCodeOf(null)).toBe('ERROR');
    expect(errorCodeOf(42)).toBe('ERROR');
  });

  it('checkpoint saves by outcome, sizes of the saved ones', () => {
    const { sink, counts, observed } = recordingSink();
    const m = new BatonMetrics(sink);
    m.checkpoint({ task: task(), token: 'a', sizeBytes: 500 }).end();
    m.checkpoint({ task: task(), token: 'b', sizeBytes: 600 }).end(Object.assign(new Error('lost'), { code: 'LEASE_LOST' }));
    m.checkpoint({ task: task(), token: 'c', sizeBytes: 700 }).end(new Error('backend down'));
    expect(counts.filter((c) => c.metric === 'baton_checkpoint_saves_total').map((c) => c.labels.outcome)).toEqual(['saved', 'lease_lost', 'failed']);
    expect(observed.filter((o) => o.metric === 'baton_checkpoint_size_bytes').map((o) => o.value)).toEqual([500]);
  });

  it('usage: what each run reported is counted from its outcome (totals after less totals before), with no task read', async () => {
    const { sink, counts } = recordingSink();
    const m = new BatonMetrics(sink);
    const fake = fakeBaton();
    m.observe(fake.baton);
    // A budgeted run and an unbudgeted one: both count; a run that reported nothing adds nothing.
    m.run({ task: task({ budget: { costUsd: 5 }, usage: { costUsd: 0.5, tokens: 100 } }), workerId: 'w', resumedFrom: null }).end({ state: 'completed', usage: { costUsd: 1.5, tokens: 300 } });
    m.run({ task: task({ usage: { costUsd: 0, tokens: 0 } }), workerId: 'w', resumedFrom: null }).end({ state: 'failed', error: new Error('x'), willRetry: false, usage: { costUsd: 0.25, tokens: 50 } });
    m.run({ task: task({ usage: { costUsd: 2, tokens: 7 } }), workerId: 'w', resumedFrom: null }).end({ state: 'lease_lost', reason: 'heartbeat refused', usage: { costUsd: 2, tokens: 7 } });
    await m.settled();
    expect(fake.reads()).toBe(0);
    expect(total(counts, 'baton_task_cost_usd_total')).toBe(1.25);
    expect(total(counts, 'baton_task_tokens_total')).toBe(250);
  });

  it('gauges: process gauges always; fleet gauges from one cached backend sample; none when off or unobserved', async () => {
    const { sink, gauges } = recordingSink();
    const m = new BatonMetrics(sink, { sampleMaxAgeMs: 60_000 });
    expect(await gauges()).toEqual([]);
    const fake = fakeBaton();
    const off = m.observe(fake.baton);
    const readings = await gauges();
    const find = (metric: MetricDefinition, labels: Labels = {}) => readings.find((r) => r.metric === metric && JSON.stringify(r.labels) === JSON.stringify(labels))?.value;
    expect(find(METRICS.workerSlots)).toBe(8);
    expect(find(METRICS.workerBusy)).toBe(3);
    expect(find(METRICS.queueTasks, { queue: 'mail', state: 'pending' })).toBe(4);
    expect(find(METRICS.queueOldestWaiting, { queue: 'mail' })).toBe(2.5);
    expect(find(METRICS.queueDeliveries, { queue: 'mail', state: 'delayed' })).toBe(2);
    expect(find(METRICS.queuePaused, { queue: 'mail' })).toBe(0);
    expect(find(METRICS.breakerState, { type: 'email', state: 'open' })).toBe(1);
    expect(find(METRICS.breakerState, { type: 'email', state: 'closed' })).toBe(0);
    expect(find(METRICS.checkpointsStoredBytes)).toBe(1_234);
    await gauges();
    await gauges();
    expect(fake.statsCalls()).toBe(1);
    off();
    expect(fake.listeners).toHaveLength(0);
    expect(await gauges()).toEqual([]);

    const r2 = recordingSink();
    const onlyProcess = new BatonMetrics(r2.sink, { fleetGauges: false });
    const fake2 = fakeBaton();
    onlyProcess.observe(fake2.baton);
    expect((await r2.gauges()).map((r) => r.metric.prom)).toEqual(['baton_worker_slots', 'baton_worker_busy']);
    expect(fake2.statsCalls()).toBe(0);
  });

  it('a sample that outlasts sampleTimeoutMs yields no fleet gauges and counts a failure; interval sampling reads the last sample', async () => {
    const r = recordingSink();
    const m = new BatonMetrics(r.sink, { sampleTimeoutMs: 50, sampleMaxAgeMs: 0 });
    m.observe(fakeBaton({}, { stats: () => new Promise<never>(() => undefined) }).baton);
    expect((await r.gauges()).map((g) => g.metric.prom)).toEqual(['baton_worker_slots', 'baton_worker_busy']);
    expect(total(r.counts, 'baton_metrics_sample_failures_total')).toBe(1);

    const i = recordingSink();
    const sampled = new BatonMetrics(i.sink, { sampleIntervalMs: 30 });
    const fake = fakeBaton();
    const off = sampled.observe(fake.baton);
    // Two samples taken on the interval, none asked for.
    while (fake.statsCalls() < 2) await new Promise((res) => setTimeout(res, 10));
    const before = fake.statsCalls();
    expect((await i.gauges()).some((g) => g.metric === METRICS.queueTasks)).toBe(true);
    // Collection does not read the backend itself in interval mode.
    expect(fake.statsCalls()).toBeLessThanOrEqual(before + 1);
    off();
    const stopped = fake.statsCalls();
    await new Promise((res) => setTimeout(res, 100));
    expect(fake.statsCalls()).toBe(stopped);
  });
});
