// One trace from the process that enqueues into a real worker PROCESS (spawned with tsx, its spans
// exported to its stdout), over one SQLite file; and a task whose worker is SIGKILLed after a
// checkpoint: the run in the next worker resumes from it and links to the same producer context.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { createBaton, silentLogger, type Baton } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';
import { otelInstrumentation } from '../src/index.js';
import type { SpanLine } from './fixtures/worker.js';
import { contextManager, tracing, until } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-otel-'));
let n = 0;

interface Worker {
  child: ChildProcess;
  spans: SpanLine[];
  events: { event: string; taskId?: string }[];
  exited: Promise<void>;
  stderr(): string;
}

function startWorker(file: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
    cwd: root,
    // The root tsconfig maps @baton/* to their sources, so the worker runs this checkout's code.
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: Worker = { child, spans: [], events: [], exited: new Promise((r) => child.once('exit', () => r())), stderr: () => err };
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { span?: SpanLine; event?: string; taskId?: string };
    if (msg.span) w.spans.push(msg.span);
    else if (msg.event) w.events.push({ event: msg.event, ...(msg.taskId ? { taskId: msg.taskId } : {}) });
  });
  workers.push(w);
  return w;
}

const workers: Worker[] = [];
const batons: Baton[] = [];
let teardown: () => void;
beforeAll(() => {
  teardown = contextManager();
});
afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.race([w.exited, new Promise((r) => setTimeout(r, 10_000))]);
    w.child.kill('SIGKILL');
  }
  for (const b of batons.splice(0)) await b.close({ deadlineMs: 0 });
});
afterAll(() => {
  teardown();
  rmSync(dir, { recursive: true, force: true });
});

function producer() {
  const file = join(dir, `t${n++}.db`);
  const t = tracing();
  const otel = otelInstrumentation({ tracerProvider: t.provider, metrics: false });
  const baton = createBaton({ backend: sqliteBackend({ file }), logger: silentLogger, instrumentation: otel });
  batons.push(baton);
  return { ...t, file, baton };
}

const runOf = (w: Worker, taskId: string) => w.spans.find((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.message.id'] === taskId);

describe('@baton/otel across processes (SQLite)', () => {
  it('one trace runs from the enqueuing process into a worker process', async () => {
    const p = producer();
    const request = p.provider.getTracer('app').startSpan('POST /orders');
    const { taskId } = await context.with(trace.setSpan(context.active(), request), () => p.baton.enqueue('steps', {}));
    request.end();
    const send = p.spans().find((s) => s.kind === SpanKind.PRODUCER)!;

    const w = startWorker(p.file);
    const run = await until(() => runOf(w, taskId), `the worker's run span (stderr: ${w.stderr()})`, 30_000);
    expect(run.pid).not.toBe(process.pid);
    expect(run.traceId).toBe(request.spanContext().traceId);
    expect(run.parentSpanId).toBe(send.spanContext().spanId);
    expect(run.links).toEqual([{ traceId: send.spanContext().traceId, spanId: send.spanContext().spanId }]);
    expect(run.attributes).toMatchObject({ 'messaging.system': 'baton', 'messaging.operation.type': 'process', 'baton.outcome': 'completed', 'baton.recoveries': 0 });
    // The handler's own span and the checkpoint span nest under the run, in the worker's trace.
    const work = w.spans.find((s) => s.name === 'work')!;
    const checkpoint = w.spans.find((s) => s.name.startsWith('checkpoint'))!;
    for (const child of [work, checkpoint]) {
      expect(child.traceId).toBe(run.traceId);
      expect(child.parentSpanId).toBe(run.spanId);
    }
    expect((await p.baton.waitFor(taskId, { timeoutMs: 10_000 })).result).toMatchObject({ traced: true, resumedFrom: null });
  });

  it('a worker SIGKILLed after a checkpoint: the resumed run in another process links to the same producer context', async () => {
    const p = producer();
    const { taskId } = await p.baton.enqueue('steps', { hang: true });
    const send = p.spans().find((s) => s.kind === SpanKind.PRODUCER)!;

    const a = startWorker(p.file);
    await until(() => a.events.some((e) => e.event === 'hanging' && e.taskId === taskId), `the first run to checkpoint and hang (stderr: ${a.stderr()})`, 30_000);
    a.child.kill('SIGKILL');
    await a.exited;
    // Spans are exported when they end: the killed run's span died with its process.
    expect(runOf(a, taskId)).toBeUndefined();

    const b = startWorker(p.file);
    const resumed = await until(() => runOf(b, taskId), `the resumed run span (stderr: ${b.stderr()})`, 30_000);
    expect(resumed.attributes).toMatchObject({ 'baton.resumed_from': 'step-1', 'baton.recoveries': 1, 'baton.attempt': 0, 'baton.outcome': 'completed' });
    expect(resumed.links).toEqual([{ traceId: send.spanContext().traceId, spanId: send.spanContext().spanId }]);
    expect(resumed.traceId).toBe(send.spanContext().traceId);
    expect(resumed.parentSpanId).toBe(send.spanContext().spanId);
    expect((await p.baton.waitFor(taskId, { timeoutMs: 10_000 })).result).toMatchObject({ resumedFrom: 'step-1' });
  });
});
