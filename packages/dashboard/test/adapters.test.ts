// Each framework adapter, on a real server on 127.0.0.1, under a base path: the bare path
// redirects, the page and the API answer, an action with its CSRF token goes through (its JSON body
// intact even when the framework parsed it first), and the app's other routes still work.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Baton } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import type { SessionInfo } from '../src/api-types.js';
import { CSRF_HEADER, createDashboard, expressMiddleware, fastifyPlugin, honoHandler, toNodeHandler, type Dashboard } from '../src/index.js';
import { ensureUiBuilt, makeBaton, registerDemoTypes, waitUntil } from './support/fixtures.js';

const BASE = '/admin/baton';
let baton: Baton;
let dashboard: Dashboard;

beforeAll(async () => {
  ensureUiBuilt();
  baton = makeBaton(memoryBackend());
  registerDemoTypes(baton);
  await baton.start();
  dashboard = createDashboard({ baton, basePath: BASE, actions: true, authorize: () => true });
});
afterAll(async () => {
  await baton?.close();
});

interface Running {
  origin: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<Running> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

const frameworks: [string, () => Promise<Running>][] = [
  ['node http', () => listen(createServer(toNodeHandler(dashboard)))],
  [
    'express (after express.json())',
    () => {
      const app = express();
      app.use(express.json());
      app.use(BASE, expressMiddleware(dashboard));
      app.get('/health', (_req, res) => {
        res.send('app');
      });
      return listen(createServer(app));
    },
  ],
  [
    'fastify',
    async () => {
      const app = Fastify();
      await app.register(fastifyPlugin(dashboard));
      app.get('/health', async () => 'app');
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { origin: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    'hono',
    async () => {
      const app = new Hono();
      const h = honoHandler(dashboard);
      app.all(BASE, h);
      app.all(`${BASE}/*`, h);
      app.get('/health', (c) => c.text('app'));
      const server = honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
      const { port } = server.address() as AddressInfo;
      return {
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      };
    },
  ],
];

describe.each(frameworks)('%s', (name, start) => {
  let app: Running;
  beforeAll(async () => {
    app = await start();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves the page and the API under the base path', async () => {
    const bare = await fetch(`${app.origin}${BASE}`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe(`${BASE}/`);
    const page = await fetch(`${app.origin}${BASE}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('<div id="app">');
    const session = (await (await fetch(`${app.origin}${BASE}/api/session`)).json()) as SessionInfo;
    expect(session.actions).toBe(true);
    if (name !== 'node http') expect(await (await fetch(`${app.origin}/health`)).text()).toBe('app');
  });

  it('passes an action with its JSON body to the handler', async () => {
    const { csrfToken } = (await (await fetch(`${app.origin}${BASE}/api/session`)).json()) as SessionInfo;
    const { taskId } = await baton.enqueue('flaky', { why: `via ${name}` });
    await waitUntil('the task to die', async () => (await baton.getTask(taskId))?.state === 'dead');
    const post = (headers: Record<string, string>) =>
      fetch(`${app.origin}${BASE}/api/tasks/${encodeURIComponent(taskId)}/retry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: app.origin, ...headers },
        body: JSON.stringify({ resetAttempts: true }),
      });
    expect((await post({ [CSRF_HEADER]: 'forged' })).status).toBe(403);
    expect((await post({ [CSRF_HEADER]: csrfToken!, origin: 'http://evil.test' })).status).toBe(403);
    const ok = await post({ [CSRF_HEADER]: csrfToken! });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const retried = await baton.admin.getTask(taskId, { events: true });
    expect(retried.events?.find((e) => e.type === 'task.retried')?.data).toEqual({ resetAttempts: true });
  });
});
