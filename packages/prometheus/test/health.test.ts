// core's healthHandler (/healthz, /readyz) and our metricsHandler (/metrics) mounted the three
// ways applications do — Node's http, Express, Fastify — against a healthy baton and one whose
// backend stopped answering: readiness turns 503 with "unreachable" within the 2 s probe budget
// while liveness stays 200 and /metrics still answers — a memory backend whose check never
// answers, and a real redis-server of the test's own, SIGKILLed under the running baton.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import express from 'express';
import Fastify from 'fastify';
import { createBaton, healthHandler, silentLogger, type Backend, type Baton, type HealthReport } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { redisBackend } from '@baton/redis';
import { startThrowawayRedis } from '@baton/conformance/servers';
import { metricsHandler, prometheusMetrics, type PrometheusMetrics } from '../src/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;
interface Mounted {
  url: string;
  close(): Promise<void>;
}

const mounts: Record<string, (health: Handler, metrics: Handler) => Promise<Mounted>> = {
  async 'node:http'(health, metrics) {
    const server = createServer((req, res) => health(req, res, () => metrics(req, res)));
    return listen(server);
  },
  async express(health, metrics) {
    const app = express();
    app.use(health);
    app.use(metrics);
    return listen(createServer(app));
  },
  async fastify(health, metrics) {
    const app = Fastify();
    // Fastify hands the raw Node objects over once the reply is hijacked.
    const raw = (h: Handler) => (req: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
      reply.hijack();
      h(req.raw, reply.raw);
    };
    app.get('/healthz', raw(health));
    app.get('/readyz', raw(health));
    app.get('/metrics', raw(metrics));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
};

function listen(server: Server): Promise<Mounted> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
    }),
  );
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A memory backend whose `check` can be made to hang, as a server that stopped answering. */
function switchableBackend(): { backend: Backend; stop(): void } {
  const memory = memoryBackend();
  let stopped = false;
  const backend: Backend = {
    ...memory,
    check: () => (stopped ? new Promise<never>(() => undefined) : Promise.resolve({ schemaVersion: null })),
  };
  return { backend, stop: () => void (stopped = true) };
}

async function start(backend: Backend): Promise<{ baton: Baton; metrics: PrometheusMetrics }> {
  const metrics = prometheusMetrics();
  const baton = createBaton({ backend, logger: silentLogger, instrumentation: metrics, worker: { pollIntervalMs: 20 } });
  metrics.observe(baton);
  baton.register('t', () => null);
  await baton.start();
  cleanup.push(() => baton.close({ deadlineMs: 0 }));
  return { baton, metrics };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe.each(Object.keys(mounts))('health and metrics endpoints on %s', (how) => {
  it('healthy: /healthz 200, /readyz 200 with the report, /metrics the exposition', async () => {
    const { baton, metrics } = await start(memoryBackend());
    const server = await mounts[how]!(healthHandler(() => baton.health()), metricsHandler(metrics.registry));
    cleanup.push(() => server.close());

    expect(await get(`${server.url}/healthz`)).toEqual({ status: 200, body: '{"ok":true}' });
    const ready = await get(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const report = JSON.parse(ready.body) as HealthReport;
    expect(report).toMatchObject({ ok: true, backend: { name: 'memory', reachable: true }, worker: { running: true } });
    const scrape = await get(`${server.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('baton_worker_slots ');
  });

  it('backend stopped answering: /readyz 503 "unreachable" within the 2 s budget; /healthz and /metrics still answer', async () => {
    const sw = switchableBackend();
    const { baton, metrics } = await start(sw.backend);
    const server = await mounts[how]!(healthHandler(() => baton.health()), metricsHandler(metrics.registry));
    cleanup.push(() => server.close());
    expect((await get(`${server.url}/readyz`)).status).toBe(200);

    sw.stop();
    const ready = await get(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    const report = JSON.parse(ready.body) as HealthReport;
    expect(report.ok).toBe(false);
    expect(report.backend).toMatchObject({ reachable: false, latencyMs: null, error: 'no answer within 2000 ms' });
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    expect((await get(`${server.url}/metrics`)).status).toBe(200);
  });
});

describe('readiness over a real Redis that is stopped', () => {
  it('/readyz 200 while redis-server runs; 503 "unreachable" within the 2 s budget once it is SIGKILLed', async () => {
    const redis = await startThrowawayRedis({ persistence: 'none' });
    cleanup.push(() => redis.destroy());
    const backend = redisBackend(redis.url, { prefix: 'health', checkPersistence: false });
    const { baton, metrics } = await start(backend);
    const server = await mounts['node:http']!(healthHandler(() => baton.health()), metricsHandler(metrics.registry));
    cleanup.push(() => server.close());
    const up = JSON.parse((await get(`${server.url}/readyz`)).body) as HealthReport;
    expect(up).toMatchObject({ ok: true, backend: { name: 'redis', reachable: true } });

    await redis.stop();
    const ready = await get(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    const report = JSON.parse(ready.body) as HealthReport;
    expect(report.ok).toBe(false);
    expect(report.backend).toMatchObject({ name: 'redis', reachable: false, latencyMs: null });
    expect(report.backend.error).toBeTruthy();
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });
});
