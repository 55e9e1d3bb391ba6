// Baton's metrics through the OTel metrics API, collected by a real SDK MeterProvider after a
// known run: the same definitions as @baton/prometheus, under their OTel names, with semantic
// attribute keys, Baton's histogram buckets (advice) and the observable gauges.
import { afterEach, describe, expect, it } from 'vitest';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { createBaton, PermanentError, silentLogger, type Baton } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { DURATION_BUCKETS, METRIC_LIST, otelInstrumentation } from '../src/index.js';

/** Pull-only reader: the test collects when it wants to. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const batons: Baton[] = [];
afterEach(async () => {
  for (const b of batons.splice(0)) await b.close({ deadlineMs: 0 });
});

async function collect(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
}

/** Data points of a sum or gauge as "attr=value,… → value" strings, sorted. */
function points(m: MetricData | undefined): string[] {
  if (!m) return [];
  return m.dataPoints
    .map((p) => `${Object.entries(p.attributes).map(([k, v]) => `${k}=${String(v)}`).join(',')} → ${typeof p.value === 'number' ? p.value : 'histogram'}`)
    .sort();
}

describe('@baton/otel metrics', () => {
  it('counters, histograms and gauges of a known run through a real MeterProvider', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const otel = otelInstrumentation({ meterProvider, metrics: { sampleMaxAgeMs: 0 } });
    const baton = createBaton({
      backend: memoryBackend(),
      logger: silentLogger,
      instrumentation: otel,
      retry: { maxRetries: 1, baseMs: 200, maxMs: 200 },
      worker: { pollIntervalMs: 20 },
    });
    batons.push(baton);
    otel.observe(baton);
    baton.register('ok', () => null, { queue: 'mail' });
    baton.register('bad', () => {
      throw new PermanentError('never');
    });
    const ids = [...(await baton.enqueueMany([{ type: 'ok', input: { n: 1 } }, { type: 'ok', input: { n: 2 } }])), await baton.enqueue('bad', {})];
    await baton.enqueue('ok', { n: 1 });
    await baton.start();
    for (const r of ids) await baton.waitFor(r.taskId, { timeoutMs: 10_000 });
    await baton.stop();
    await otel.metrics!.settled();

    const m = await collect(reader);
    expect(points(m.get('baton.tasks.enqueued'))).toEqual([
      'messaging.destination.name=default,baton.task.type=bad,baton.outcome=created → 1',
      'messaging.destination.name=mail,baton.task.type=ok,baton.outcome=created → 2',
      'messaging.destination.name=mail,baton.task.type=ok,baton.outcome=duplicate → 1',
    ]);
    expect(points(m.get('baton.tasks.completed'))).toEqual(['messaging.destination.name=mail,baton.task.type=ok → 2']);
    expect(points(m.get('baton.tasks.dead'))).toEqual(['messaging.destination.name=default,baton.task.type=bad,error.type=PERMANENT → 1']);
    expect(m.get('baton.tasks.completed')!.descriptor.unit).toBe('{task}');

    const duration = m.get('baton.task.run.duration')!;
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration.descriptor.unit).toBe('s');
    const okRuns = duration.dataPoints.find((p) => p.attributes['baton.task.type'] === 'ok')!;
    const hist = okRuns.value as { count: number; buckets: { boundaries: number[] } };
    expect(hist.count).toBe(2);
    expect(hist.buckets.boundaries).toEqual([...DURATION_BUCKETS]);
    expect(okRuns.attributes['baton.outcome']).toBe('completed');

    expect(points(m.get('baton.queue.tasks')).filter((p) => !p.endsWith('→ 0'))).toEqual([
      'messaging.destination.name=default,baton.state=dead → 1',
      'messaging.destination.name=mail,baton.state=completed → 2',
    ]);
    expect(points(m.get('baton.worker.slots'))).toEqual([' → 0']);
    // Every defined metric that has data is reported under its OTel name; none under another.
    const known = new Set(METRIC_LIST.map((d) => d.otel));
    expect([...m.keys()].filter((k) => !known.has(k))).toEqual([]);
    await meterProvider.shutdown();
  });

  it('metrics: false is tracing only; no meter provider registered is a no-op meter', async () => {
    expect(otelInstrumentation({ metrics: false }).metrics).toBeNull();
    const otel = otelInstrumentation();
    const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, instrumentation: otel, worker: { pollIntervalMs: 20 } });
    batons.push(baton);
    otel.observe(baton);
    baton.register('t', () => 1);
    const { taskId } = await baton.enqueue('t', {});
    await baton.start();
    expect((await baton.waitFor(taskId, { timeoutMs: 10_000 })).state).toBe('completed');
  });
});
