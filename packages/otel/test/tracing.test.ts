// Spans of enqueue and run in one process over the memory backend, exported to memory by a real
// SDK: semantic-convention attributes, the producer context stored on the task, the run span
// linked to it (and its child by default), handler spans nested in the run, errors with their
// Baton codes, opt-in checkpoint spans, and a resumed run after a "crash" linked to the same
// producer. The cross-process and SIGKILL cases are in process.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createBaton, PermanentError, silentLogger, type Backend, type Baton, type BatonOptions } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { otelInstrumentation, type OtelOptions } from '../src/index.js';
import { contextManager, freezable, tracing, until } from './helpers.js';

let teardown: () => void;
beforeAll(() => {
  teardown = contextManager();
});
afterAll(() => teardown());

const batons: Baton[] = [];
afterEach(async () => {
  for (const b of batons.splice(0)) await b.close({ deadlineMs: 0 }).catch(() => undefined);
});

function setup(options: OtelOptions = {}, batonOptions: Partial<BatonOptions> = {}, backend: Backend = memoryBackend()) {
  const t = tracing();
  const otel = otelInstrumentation({ tracerProvider: t.provider, metrics: false, ...options });
  const baton = createBaton({ backend, logger: silentLogger, instrumentation: otel, ...batonOptions, worker: { pollIntervalMs: 20, ...batonOptions.worker } });
  otel.observe(baton);
  batons.push(baton);
  return { ...t, otel, baton };
}

const byKind = (spans: ReadableSpan[], kind: SpanKind) => spans.filter((s) => s.kind === kind);

describe('@baton/otel tracing', () => {
  it('a producer span per enqueued task, its W3C context stored on the task; the run span is its child and links to it', async () => {
    const { baton, spans, provider } = setup();
    baton.register('email', async (input: { to: string }) => {
      // The run span is active inside the handler: the handler's own spans nest under it.
      provider.getTracer('app').startActiveSpan('smtp.send', (s) => s.end());
      return { sent: input.to };
    }, { queue: 'mail' });
    // Enqueued inside an application span (a request handler, say).
    const request = provider.getTracer('app').startSpan('POST /signup');
    const { taskId } = await context.with(trace.setSpan(context.active(), request), () => baton.enqueue('email', { to: 'a@example.com' }));
    request.end();

    const task = await baton.getTask(taskId);
    const producer = byKind(spans(), SpanKind.PRODUCER)[0]!;
    expect(producer.name).toBe('send mail');
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'baton',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'mail',
      'messaging.message.id': taskId,
      'baton.task.type': 'email',
    });
    expect(task?.traceContext).toEqual({ traceparent: `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01` });

    await baton.start();
    await baton.waitFor(taskId, { timeoutMs: 10_000 });
    const run = await until(() => byKind(spans(), SpanKind.CONSUMER)[0], 'run span');
    expect(run.name).toBe('process mail');
    expect(run.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(run.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(run.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(run.attributes).toMatchObject({
      'messaging.system': 'baton',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'mail',
      'messaging.message.id': taskId,
      'baton.task.type': 'email',
      'baton.attempt': 0,
      'baton.recoveries': 0,
      'baton.outcome': 'completed',
    });
    expect(run.attributes['baton.resumed_from']).toBeUndefined();
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    const child = spans().find((s) => s.name === 'smtp.send')!;
    expect(child.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
  });

  it("runParent 'link': every run starts its own trace, linked to the producer", async () => {
    const { baton, spans } = setup({ runParent: 'link' });
    baton.register('t', () => null);
    const { taskId } = await baton.enqueue('t', {});
    await baton.start();
    await baton.waitFor(taskId, { timeoutMs: 10_000 });
    const run = await until(() => byKind(spans(), SpanKind.CONSUMER)[0], 'run span');
    const producer = byKind(spans(), SpanKind.PRODUCER)[0]!;
    expect(run.spanContext().traceId).not.toBe(producer.spanContext().traceId);
    expect(run.parentSpanContext).toBeUndefined();
    expect(run.links[0]?.context).toMatchObject({ traceId: producer.spanContext().traceId, spanId: producer.spanContext().spanId });
  });

  it('failed runs record the exception, ERROR status and the Baton error code; the retry is linked to the same producer', async () => {
    const { baton, spans } = setup({}, { retry: { maxRetries: 1, baseMs: 200, maxMs: 200 } });
    baton.register('flaky', () => {
      throw Object.assign(new Error('upstream 503'), { code: 'EUPSTREAM' });
    });
    baton.register('bad', () => {
      throw new PermanentError('input can never work');
    });
    const flaky = await baton.enqueue('flaky', {});
    const bad = await baton.enqueue('bad', {});
    await baton.start();
    await baton.waitFor(flaky.taskId, { timeoutMs: 10_000 });
    await baton.waitFor(bad.taskId, { timeoutMs: 10_000 });
    await until(() => byKind(spans(), SpanKind.CONSUMER).length === 3, 'three run spans');
    const runs = byKind(spans(), SpanKind.CONSUMER);
    const producers = new Map(byKind(spans(), SpanKind.PRODUCER).map((p) => [p.attributes['messaging.message.id'], p.spanContext().spanId]));

    const flakyRuns = runs.filter((r) => r.attributes['messaging.message.id'] === flaky.taskId).sort((a, b) => Number(a.attributes['baton.attempt']) - Number(b.attributes['baton.attempt']));
    expect(flakyRuns.map((r) => [r.attributes['baton.attempt'], r.attributes['baton.outcome']])).toEqual([
      [0, 'retry'],
      [1, 'dead'],
    ]);
    for (const r of flakyRuns) {
      expect(r.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream 503' });
      expect(r.attributes).toMatchObject({ 'baton.error.code': 'EUPSTREAM', 'error.type': 'EUPSTREAM' });
      expect(r.events.find((e) => e.name === 'exception')?.attributes).toMatchObject({ 'exception.message': 'upstream 503' });
      expect(r.links[0]?.context.spanId).toBe(producers.get(flaky.taskId));
    }
    expect(flakyRuns[0]!.attributes['baton.retry.delay_ms']).toBeTypeOf('number');

    const badRun = runs.find((r) => r.attributes['messaging.message.id'] === bad.taskId)!;
    expect(badRun.attributes).toMatchObject({ 'baton.outcome': 'dead', 'baton.will_retry': false, 'baton.error.code': 'PERMANENT', 'error.type': 'PERMANENT' });
  });

  it('checkpoint spans are opt-in children of the run, with token and size', async () => {
    for (const checkpointSpans of [false, true]) {
      const { baton, spans } = setup({ checkpointSpans }, { checkpoints: { intervalMs: 0 } });
      baton.register('steps', async (_input, ctx) => {
        for (const step of [1, 2]) await ctx.saveCheckpoint(`step-${step}`, { step, pad: 'x'.repeat(100) }, { flush: true });
        return null;
      });
      const { taskId } = await baton.enqueue('steps', {});
      await baton.start();
      await baton.waitFor(taskId, { timeoutMs: 10_000 });
      const run = await until(() => byKind(spans(), SpanKind.CONSUMER)[0], 'run span');
      const cps = spans().filter((s) => s.name.startsWith('checkpoint'));
      if (!checkpointSpans) {
        expect(cps).toEqual([]);
        continue;
      }
      expect(cps.map((s) => s.attributes['baton.checkpoint.token'])).toEqual(['step-1', 'step-2']);
      for (const s of cps) {
        expect(s.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
        expect(s.attributes['baton.checkpoint.size_bytes']).toBeGreaterThan(100);
      }
    }
  });

  it('a duplicate enqueue is marked; a failed enqueue records its error on the producer span', async () => {
    const memory = memoryBackend();
    const failing: Backend = { ...memory, flow: { ...memory.flow!, createAndEnqueue: () => Promise.reject(Object.assign(new Error('backend down'), { code: 'BACKEND_UNAVAILABLE' })) } };
    const { baton, spans } = setup({}, {}, memory);
    await baton.enqueue('t', { a: 1 });
    const again = await baton.enqueue('t', { a: 1 });
    expect(again.duplicate).toBe(true);
    const [first, second] = byKind(spans(), SpanKind.PRODUCER);
    expect(first!.attributes['baton.duplicate']).toBeUndefined();
    expect(second!.attributes['baton.duplicate']).toBe(true);

    const broken = setup({}, {}, failing);
    await expect(broken.baton.enqueue('t', {})).rejects.toThrow('backend down');
    const span = byKind(broken.spans(), SpanKind.PRODUCER)[0]!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['baton.error.code']).toBe('BACKEND_UNAVAILABLE');
  });

  it('no SDK registered: nothing is stored on the task and the work runs as without instrumentation', async () => {
    const otel = otelInstrumentation();
    const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, instrumentation: otel, worker: { pollIntervalMs: 20 } });
    batons.push(baton);
    otel.observe(baton);
    baton.register('t', () => 'ok');
    const { taskId } = await baton.enqueue('t', {});
    expect((await baton.getTask(taskId))?.traceContext).toBeNull();
    await baton.start();
    expect((await baton.waitFor(taskId, { timeoutMs: 10_000 })).result).toBe('ok');
  });

  it('a global SDK registered after the instrumentation was created is used from then on', async () => {
    const otel = otelInstrumentation({ metrics: false });
    const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, instrumentation: otel, worker: { pollIntervalMs: 20 } });
    batons.push(baton);
    const before = await baton.enqueue('t', { n: 1 });
    const t = tracing();
    trace.setGlobalTracerProvider(t.provider);
    try {
      const after = await baton.enqueue('t', { n: 2 });
      expect((await baton.getTask(before.taskId))?.traceContext).toBeNull();
      expect((await baton.getTask(after.taskId))?.traceContext?.traceparent).toContain(byKind(t.spans(), SpanKind.PRODUCER)[0]!.spanContext().spanId);
    } finally {
      trace.disable();
    }
  });

  it('a run resumed after its holder died is linked to the same producer, with resumed_from and recoveries', async () => {
    const memory = memoryBackend();
    const dying = freezable(memory);
    const opts: Partial<BatonOptions> = { worker: { stallTimeoutMs: 600, heartbeatIntervalMs: 100, pollIntervalMs: 20 }, checkpoints: { intervalMs: 0 } };
    const a = setup({}, opts, dying.backend);
    // A dead process is not closed: its calls never settle.
    batons.splice(batons.indexOf(a.baton), 1);
    let hanging = false;
    a.baton.register('steps', async (_input, ctx) => {
      await ctx.saveCheckpoint('step-1', { step: 1 }, { flush: true });
      hanging = true;
      await new Promise(() => undefined);
    });
    const { taskId } = await a.baton.enqueue('steps', {});
    await a.baton.start();
    await until(() => hanging, 'first run to checkpoint');
    dying.freeze();

    const b = setup({}, opts, memory);
    b.baton.register('steps', (_input, ctx) => ({ resumedFrom: ctx.checkpoint?.token ?? null }));
    await b.baton.start();
    const done = await b.baton.waitFor(taskId, { timeoutMs: 15_000 });
    expect(done.result).toEqual({ resumedFrom: 'step-1' });

    const producer = byKind(a.spans(), SpanKind.PRODUCER)[0]!;
    const resumed = await until(() => byKind(b.spans(), SpanKind.CONSUMER)[0], 'resumed run span');
    expect(resumed.attributes).toMatchObject({ 'baton.resumed_from': 'step-1', 'baton.recoveries': 1, 'baton.attempt': 0, 'baton.outcome': 'completed' });
    expect(resumed.links[0]?.context).toMatchObject({ traceId: producer.spanContext().traceId, spanId: producer.spanContext().spanId });
    expect(resumed.spanContext().traceId).toBe(producer.spanContext().traceId);
  });

  it('heartbeat spans: a child of each run per lease extension; a lease that moved on (a cancel) ends its span with LEASE_LOST', async () => {
    const backend = memoryBackend();
    const { baton, spans } = setup({ heartbeatSpans: true }, { worker: { heartbeatIntervalMs: 50, stallTimeoutMs: 2_000 } }, backend);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    baton.register('long', async (_i, ctx) => {
      started.push(ctx.taskId);
      await Promise.race([held, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
      return null;
    });
    const ids = (await baton.enqueueMany([{ type: 'long', input: { n: 1 } }, { type: 'long', input: { n: 2 } }])).map((r) => r.taskId);
    await baton.start();
    await until(() => started.length === 2, 'both runs');
    const beatsOf = (id: string) => spans().filter((s) => s.name === 'heartbeat' && s.attributes['messaging.message.id'] === id);
    await until(() => beatsOf(ids[0]!).length > 0 && beatsOf(ids[1]!).length > 0, 'a heartbeat span of each run');
    // Cancelled by another process while running: this worker learns it from its next lease extension.
    const operator = createBaton({ backend, logger: silentLogger });
    await operator.cancel(ids[1]!);
    await until(() => beatsOf(ids[1]!).some((s) => s.status.code === SpanStatusCode.ERROR), 'the refused extension');
    release();
    await until(() => byKind(spans(), SpanKind.CONSUMER).length === 2, 'run spans');
    const runs = new Map(byKind(spans(), SpanKind.CONSUMER).map((r) => [r.attributes['messaging.message.id'], r.spanContext().spanId]));
    for (const id of ids) for (const s of beatsOf(id)) expect(s.parentSpanContext?.spanId).toBe(runs.get(id));
    expect(beatsOf(ids[0]!).every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true);
    const lost = beatsOf(ids[1]!).find((s) => s.status.code === SpanStatusCode.ERROR)!;
    expect(lost.attributes['baton.error.code']).toBe('LEASE_LOST');
    // The run span says why: core's outcome carries the refused write.
    const run = byKind(spans(), SpanKind.CONSUMER).find((r) => r.attributes['messaging.message.id'] === ids[1])!;
    expect(run.attributes['baton.outcome']).toBe('lease_lost');
    expect(run.attributes['baton.lease_lost.reason']).toMatch(/refused because this worker's lease was lost/);
    expect(byKind(spans(), SpanKind.CONSUMER).find((r) => r.attributes['messaging.message.id'] === ids[0])!.attributes['baton.lease_lost.reason']).toBeUndefined();
  });
});
