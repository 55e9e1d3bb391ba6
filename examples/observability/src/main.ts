// Baton observability example: a worker whose spans go to the console exporter (no collector
// needed) and whose metrics are served on /metrics for Prometheus, with /healthz and /readyz.
//
//   npm run -w @baton-examples/observability start                 # runs until Ctrl-C
//   npm run -w @baton-examples/observability start -- --once       # one batch, a scrape, exit
//   npm run -w @baton-examples/observability start -- --port 9464
//
// Every few seconds an "upload" request enqueues work inside its own span: each enqueued task
// gets a producer span ("send <queue>"), and its run a consumer span ("process <queue>") in the
// same trace, with the handler's own spans and the checkpoint saves nested under it. A flaky
// task fails once and is retried: its two runs are linked to the same producer span.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createBaton, healthHandler, type JsonValue } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { otelInstrumentation } from '@baton/otel';
import { metricsHandler, prometheusMetrics } from '@baton/prometheus';

const argv = process.argv.slice(2);
const once = argv.includes('--once');
const portArg = argv.indexOf('--port');
const port = portArg >= 0 ? Number(argv[portArg + 1]) : Number(process.env.PORT ?? 9464);
const say = (line: string) => process.stdout.write(`${line}\n`);

// 1. The OpenTelemetry SDK. register() installs it globally with the AsyncLocalStorage context
// manager, so the run span is active inside handlers. A real deployment exports over OTLP instead.
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
provider.register();
const tracer = trace.getTracer('observability-example');

// 2. Baton with both packages: @baton/otel for spans (its metrics could go to an OTel meter
// provider instead), @baton/prometheus for the /metrics endpoint.
const otel = otelInstrumentation({ metrics: false, checkpointSpans: true });
const metrics = prometheusMetrics();
const baton = createBaton({
  backend: memoryBackend(),
  instrumentation: [otel, metrics],
  retry: { baseMs: 500, maxRetries: 2 },
  checkpoints: { intervalMs: 0 },
  worker: { concurrency: 4 },
});
otel.observe(baton);
metrics.observe(baton);

baton.register('thumbnail', async (input: { file: string }, ctx) => {
  for (const size of [64, 256]) {
    // An application span: it nests under the run span of this task.
    await tracer.startActiveSpan(`resize ${size}px`, async (span) => {
      await new Promise((r) => setTimeout(r, 20));
      span.end();
    });
    await ctx.saveCheckpoint(`size-${size}`, { done: size });
  }
  return { file: input.file, sizes: [64, 256] };
}, { queue: 'media' });

const failedOnce = new Set<string>();
baton.register('notify', (input: { user: string }, ctx): JsonValue => {
  if (!failedOnce.has(ctx.taskId)) {
    failedOnce.add(ctx.taskId);
    throw Object.assign(new Error('mail server busy'), { code: 'EBUSY' });
  }
  return { notified: input.user };
});

// 3. /metrics, /healthz, /readyz on one port.
const health = healthHandler(() => baton.health());
const scrape = metricsHandler(metrics.registry);
const server = createServer((req, res) => health(req, res, () => scrape(req, res)));
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
say(`metrics: ${url}/metrics   health: ${url}/healthz ${url}/readyz`);

await baton.start();

let batch = 0;
async function upload(): Promise<string[]> {
  batch++;
  // The request that enqueues: its span is the root of the trace of everything below.
  return tracer.startActiveSpan('POST /upload', async (span) => {
    const results = await baton.enqueueMany([
      { type: 'thumbnail', input: { file: `photo-${batch}.jpg` } },
      { type: 'notify', input: { user: `user-${batch}` } },
    ]);
    span.end();
    say(`batch ${batch}: enqueued ${results.map((r) => r.taskId).join(', ')} (trace ${span.spanContext().traceId})`);
    return results.map((r) => r.taskId);
  });
}

async function shutdown(code: number): Promise<never> {
  await baton.close();
  await provider.shutdown();
  server.close();
  process.exit(code);
}

if (once) {
  const ids = await upload();
  for (const id of ids) await baton.waitFor(id, { timeoutMs: 30_000 });
  await metrics.settled();
  const text = await (await fetch(`${url}/metrics`)).text();
  say('--- /metrics (baton_tasks_*) ---');
  for (const line of text.split('\n')) if (line.startsWith('baton_tasks_')) say(line);
  say(`--- /readyz: ${(await fetch(`${url}/readyz`)).status}`);
  await shutdown(0);
} else {
  await upload();
  const timer = setInterval(() => void upload(), 5_000);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      clearInterval(timer);
      void shutdown(0);
    });
  }
}
