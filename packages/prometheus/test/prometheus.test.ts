// A known run over the memory backend, then a scrape of the prom-client registry: exact counter
// values by queue, type and outcome, non-empty histograms with Baton's buckets, fleet gauges read
// from the backend, and the events that happen outside any run (operator retry, cancel).
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createBaton, PermanentError, silentLogger, type Baton } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { METRIC_LIST, metricsHandler, prometheusMetrics } from '../src/index.js';
import { family, parseExposition, value } from './scrape.js';

const batons: Baton[] = [];
afterEach(async () => {
  for (const b of batons.splice(0)) await b.close({ deadlineMs: 0 });
});

function setup() {
  const metrics = prometheusMetrics({ sampleMaxAgeMs: 0 });
  const baton = createBaton({
    backend: memoryBackend(),
    logger: silentLogger,
    instrumentation: metrics,
    // A retry delay well above one settle round trip (see the report: a 1 ms retry timer can fire before its task is marked scheduled).
    retry: { maxRetries: 2, baseMs: 200, maxMs: 200 },
    checkpoints: { intervalMs: 0 },
    worker: { pollIntervalMs: 20, concurrency: 4 },
  });
  metrics.observe(baton);
  batons.push(baton);
  return { metrics, baton };
}

describe('@baton/prometheus', () => {
  it('a scrape after a known run: exact counters, non-empty histograms, fleet gauges', async () => {
    const { metrics, baton } = setup();
    const failedOnce = new Set<string>();
    baton.register('ok', async (input: { cp?: boolean }, ctx) => {
      if (input.cp) {
        await ctx.saveCheckpoint('a', { pad: 'x'.repeat(2_000) }, { flush: true });
        await ctx.saveCheckpoint('b', { pad: 'y'.repeat(10) }, { flush: true });
      }
      return null;
    }, { queue: 'mail' });
    baton.register('flaky', (_input, ctx) => {
      if (failedOnce.has(ctx.taskId)) return 'ok';
      failedOnce.add(ctx.taskId);
      throw Object.assign(new Error('timeout talking to upstream'), { code: 'ETIMEDOUT' });
    });
    baton.register('bad', () => {
      throw new PermanentError('never');
    });
    baton.register('spender', async (_input, ctx) => {
      await ctx.reportUsage({ costUsd: 0.25, tokens: 100 });
      await ctx.reportUsage({ costUsd: 0.25, tokens: 50 });
      return null;
    });

    const ids = [
      ...(await baton.enqueueMany([
        { type: 'ok', input: { cp: true } },
        { type: 'ok', input: { n: 2 } },
        { type: 'ok', input: { n: 3 } },
      ])),
      await baton.enqueue('ok', { n: 3 }), // duplicate of the third
      await baton.enqueue('flaky', {}),
      await baton.enqueue('bad', {}),
      await baton.enqueue('spender', {}, { budget: { costUsd: 10 } }),
    ];
    expect(ids[3]!.duplicate).toBe(true);
    await baton.start();
    for (const r of ids) await baton.waitFor(r.taskId, { timeoutMs: 10_000 });
    await baton.stop();
    await metrics.settled();

    const s = parseExposition(await metrics.scrape());
    expect(family(s, 'baton_tasks_enqueued_total')).toEqual([
      'queue=default,type=bad,outcome=created → 1',
      'queue=default,type=flaky,outcome=created → 1',
      'queue=default,type=spender,outcome=created → 1',
      'queue=mail,type=ok,outcome=created → 3',
      'queue=mail,type=ok,outcome=duplicate → 1',
    ]);
    expect(family(s, 'baton_tasks_started_total')).toEqual([
      'queue=default,type=bad → 1',
      'queue=default,type=flaky → 2',
      'queue=default,type=spender → 1',
      'queue=mail,type=ok → 3',
    ]);
    expect(family(s, 'baton_tasks_completed_total')).toEqual(['queue=default,type=flaky → 1', 'queue=default,type=spender → 1', 'queue=mail,type=ok → 3']);
    expect(family(s, 'baton_tasks_failed_total')).toEqual(['queue=default,type=bad,error_code=PERMANENT → 1', 'queue=default,type=flaky,error_code=ETIMEDOUT → 1']);
    expect(family(s, 'baton_tasks_dead_total')).toEqual(['queue=default,type=bad,error_code=PERMANENT → 1']);
    expect(family(s, 'baton_tasks_retried_total')).toEqual(['queue=default,type=flaky,trigger=backoff → 1']);
    expect(family(s, 'baton_checkpoint_saves_total')).toEqual(['queue=mail,type=ok,outcome=saved → 2']);
    expect(value(s, 'baton_task_cost_usd_total', { type: 'spender' })).toBe(0.5);
    expect(value(s, 'baton_task_tokens_total', { type: 'spender' })).toBe(150);
    for (const name of ['baton_task_lease_losses_total', 'baton_task_recoveries_total', 'baton_tasks_cancelled_total', 'baton_breaker_transitions_total']) {
      expect(family(s, name)).toEqual([]);
    }

    // Histograms: one observation per run (by outcome), per first start, per checkpoint saved.
    expect(family(s, 'baton_task_run_duration_seconds_count')).toEqual([
      'queue=default,type=bad,outcome=dead → 1',
      'queue=default,type=flaky,outcome=completed → 1',
      'queue=default,type=flaky,outcome=retry → 1',
      'queue=default,type=spender,outcome=completed → 1',
      'queue=mail,type=ok,outcome=completed → 3',
    ]);
    expect(value(s, 'baton_task_run_duration_seconds_sum', { type: 'ok', outcome: 'completed' })).toBeGreaterThan(0);
    expect(value(s, 'baton_task_run_duration_seconds_bucket', { type: 'ok', outcome: 'completed', le: '+Inf' })).toBe(3);
    expect(value(s, 'baton_task_run_duration_seconds_bucket', { type: 'ok', outcome: 'completed', le: '43200' })).toBe(3);
    expect(s.filter((x) => x.name === 'baton_task_run_duration_seconds_bucket' && x.labels.type === 'ok').map((x) => x.labels.le)).toEqual([
      '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '120', '300', '600', '1800', '3600', '7200', '14400', '43200', '+Inf',
    ]);
    expect(family(s, 'baton_task_start_latency_seconds_count')).toEqual([
      'queue=default,type=bad → 1',
      'queue=default,type=flaky → 1',
      'queue=default,type=spender → 1',
      'queue=mail,type=ok → 3',
    ]);
    expect(value(s, 'baton_checkpoint_size_bytes_count', { type: 'ok' })).toBe(2);
    expect(value(s, 'baton_checkpoint_size_bytes_bucket', { type: 'ok', le: '256' })).toBe(1);
    expect(value(s, 'baton_checkpoint_size_bytes_bucket', { type: 'ok', le: '4096' })).toBe(2);

    // Gauges, read from the backend at scrape time.
    expect(value(s, 'baton_queue_tasks', { queue: 'mail', state: 'completed' })).toBe(3);
    expect(value(s, 'baton_queue_tasks', { queue: 'default', state: 'dead' })).toBe(1);
    expect(value(s, 'baton_queue_tasks', { queue: 'default', state: 'pending' })).toBe(0);
    expect(value(s, 'baton_queue_oldest_waiting_seconds', { queue: 'mail' })).toBe(0);
    expect(value(s, 'baton_worker_slots')).toBe(0); // stopped
    expect(value(s, 'baton_worker_busy')).toBe(0);
    expect(value(s, 'baton_checkpoints_stored')).toBe(0); // deleted on completion
    expect(value(s, 'baton_metrics_sample_failures_total')).toBe(0);
    // No label is a task id.
    const taskIds = new Set(ids.map((r) => r.taskId));
    expect(s.filter((x) => Object.values(x.labels).some((v) => taskIds.has(v)))).toEqual([]);
    // Every defined metric is registered under its definition's name.
    const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    expect(METRIC_LIST.map((m) => m.prom).filter((n) => !names.has(n))).toEqual([]);
  });

  it('pending work, a paused queue and outcomes outside any run (operator retry, cancel) are counted with their queue and type', async () => {
    const { metrics, baton } = setup();
    baton.register('bad', () => {
      throw new PermanentError('never');
    }, { queue: 'q1' });
    const dead = await baton.enqueue('bad', {});
    await baton.start();
    await baton.waitFor(dead.taskId, { timeoutMs: 10_000 });
    await baton.stop();
    // No worker runs now: these stay pending.
    const waiting = await baton.enqueueMany([{ type: 'later', input: { a: 1 }, queue: 'q2' }, { type: 'later', input: { a: 2 }, queue: 'q2' }]);
    await baton.queues.pause('q2');
    await baton.admin.retry(dead.taskId);
    await baton.cancel(waiting[0]!.taskId);
    await metrics.settled();

    const s = parseExposition(await metrics.scrape());
    expect(family(s, 'baton_tasks_retried_total')).toEqual(['queue=q1,type=bad,trigger=operator → 1']);
    expect(family(s, 'baton_tasks_cancelled_total')).toEqual(['queue=q2,type=later → 1']);
    expect(value(s, 'baton_queue_tasks', { queue: 'q2', state: 'pending' })).toBe(1);
    expect(value(s, 'baton_queue_tasks', { queue: 'q2', state: 'cancelled' })).toBe(1);
    expect(value(s, 'baton_queue_tasks', { queue: 'q1', state: 'pending' })).toBe(1);
    expect(value(s, 'baton_queue_deliveries', { queue: 'q2', state: 'ready' })).toBe(1);
    expect(value(s, 'baton_queue_paused', { queue: 'q2' })).toBe(1);
    expect(value(s, 'baton_queue_oldest_waiting_seconds', { queue: 'q2' })).toBeGreaterThanOrEqual(0);
  });

  it('a backend that does not answer: the scrape still returns, without fleet gauges, and counts the failure', async () => {
    const memory = memoryBackend();
    const metrics = prometheusMetrics({ sampleTimeoutMs: 200, sampleMaxAgeMs: 0 });
    const never = () => new Promise<never>(() => undefined);
    const baton = createBaton({ backend: { ...memory, tasks: { ...memory.tasks, counts: never } }, logger: silentLogger, instrumentation: metrics });
    batons.push(baton);
    metrics.observe(baton);
    const s = parseExposition(await metrics.scrape());
    expect(family(s, 'baton_queue_tasks')).toEqual([]);
    expect(value(s, 'baton_worker_busy')).toBe(0);
    // Counted when the read gives up, so it shows from the next scrape on.
    expect(value(parseExposition(await metrics.scrape()), 'baton_metrics_sample_failures_total')).toBe(1);
  });

  it('uses the registry given (never the global one) and serves it with metricsHandler', async () => {
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    let status = 0;
    let body = '';
    const res = {
      writeHead(code: number) {
        status = code;
        return this;
      },
      end(text: string) {
        body = text;
      },
    };
    metricsHandler(registry)({ url: '/metrics?x=1' } as never, res as never);
    await new Promise((r) => setTimeout(r, 50));
    expect(status).toBe(200);
    expect(body).toContain('# TYPE baton_tasks_enqueued_total counter');
  });
});
