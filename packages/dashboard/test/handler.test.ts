// The fetch handler without a browser: configuration errors, routing under a base path, caching
// headers, the authorisation and CSRF checks of actions, and what the API answers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, TASK_STATES, type Baton } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { STATES, type OverviewResponse, type SessionInfo, type TaskDetailResponse, type TaskListResponse, type TimersResponse } from '../src/api-types.js';
import { CSRF_HEADER, createDashboard, type Dashboard } from '../src/index.js';
import { VERSION } from '../src/version.js';
import { ensureUiBuilt, makeBaton, packageDir, registerDemoTypes, waitUntil } from './support/fixtures.js';

const ORIGIN = 'http://dash.test';
const BASE = '/admin/baton';

let baton: Baton;
let dash: Dashboard;
let token: string;
let stepsId: string;
let deadId: string;

const req = (path: string, init: RequestInit = {}) => new Request(`${ORIGIN}${path}`, init);
const action = (path: string, body: object = {}, headers: Record<string, string> = {}) =>
  dash.fetch(req(`${BASE}/api/${path}`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json', [CSRF_HEADER]: token, ...headers }, body: JSON.stringify(body) }));
async function getJson<T>(path: string): Promise<T> {
  const res = await dash.fetch(req(`${BASE}/api/${path}`));
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  ensureUiBuilt();
  baton = makeBaton(memoryBackend());
  registerDemoTypes(baton);
  await baton.start();
  stepsId = (await baton.enqueue('steps', { steps: 3 }, { runId: 'run-1', phaseId: 'gather', budget: { costUsd: 1, tokens: 1_000 } })).taskId;
  deadId = (await baton.enqueue('flaky', { why: 'boom' })).taskId;
  await baton.waitFor(stepsId);
  await baton.waitFor(deadId);
  dash = createDashboard({ baton, basePath: `${BASE}/`, actions: true, authorize: (r) => r.headers.get('x-test-deny') === null });
  token = ((await getJson<SessionInfo>('session')).csrfToken ?? '') as string;
});

afterAll(async () => {
  await baton?.close();
});

describe('configuration', () => {
  it('refuses actions without authorize, with a ConfigError saying what to add', () => {
    expect(() => createDashboard({ baton, actions: true })).toThrow(ConfigError);
    expect(() => createDashboard({ baton, actions: true })).toThrow(/requires `authorize/);
  });
  it('refuses a missing baton, a bad base path, a short csrfSecret and a bad trusted origin', () => {
    expect(() => createDashboard({} as never)).toThrow(ConfigError);
    expect(() => createDashboard({ baton, basePath: '/a/../b' })).toThrow(ConfigError);
    expect(() => createDashboard({ baton, csrfSecret: 'short' })).toThrow(ConfigError);
    expect(() => createDashboard({ baton, trustedOrigins: ['not a url'] })).toThrow(ConfigError);
  });
  it('keeps its version and its copy of the task states in step with package.json and core', () => {
    expect(VERSION).toBe((JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version);
    expect([...STATES]).toEqual([...TASK_STATES]);
  });
  it('the UI sources never set HTML and import nothing from @baton/core at run time', () => {
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : files.push(join(d, n))));
    walk(join(packageDir, 'ui'));
    for (const f of files.filter((x) => /\.tsx?$/.test(x))) {
      const src = readFileSync(f, 'utf8');
      expect(src, f).not.toMatch(/dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
      expect(src, f).not.toMatch(/^import (?!type )[^;]*from '@baton\//m);
    }
  });
});

describe('routing and caching', () => {
  it('redirects the bare base path to the slash form, so relative URLs resolve under it', async () => {
    const res = await dash.fetch(req(`${BASE}?x=1`));
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe(`${BASE}/?x=1`);
  });
  it('serves the page with a strict CSP, revalidated; hashed assets immutable; the API never stored', async () => {
    const page = await dash.fetch(req(`${BASE}/`));
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    expect(html).not.toMatch(/https?:\/\//); // nothing from the internet
    const js = await dash.fetch(req(`${BASE}/${asset}`));
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(1000);
    const api = await dash.fetch(req(`${BASE}/api/overview`));
    expect(api.headers.get('cache-control')).toBe('no-store');
  });
  it('answers 404 outside the base path and for unknown assets or routes, without reaching the disk', async () => {
    expect((await dash.fetch(req('/elsewhere'))).status).toBe(404);
    expect((await dash.fetch(req(`${BASE}/../../package.json`))).status).toBe(404);
    expect((await dash.fetch(req(`${BASE}/assets/%2e%2e%2f%2e%2e%2fpackage.json`))).status).toBe(404);
    expect((await dash.fetch(req(`${BASE}/api/nope`))).status).toBe(404);
  });
  it('asks authorize for reads too', async () => {
    expect((await dash.fetch(req(`${BASE}/api/overview`, { headers: { 'x-test-deny': '1' } }))).status).toBe(401);
    expect((await dash.fetch(req(`${BASE}/`, { headers: { 'x-test-deny': '1' } }))).status).toBe(401);
  });
});

describe('the API', () => {
  it('overview: counts per queue from admin.stats and the last hour from the event log', async () => {
    const o = await getJson<OverviewResponse>('overview');
    const def = o.queues.find((q) => q.name === 'default')!;
    expect(def.counts.completed).toBe(1);
    expect(o.queues.find((q) => q.name === 'flaky')!.counts.dead).toBe(1);
    expect(def.series.completed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(o.queues.find((q) => q.name === 'flaky')!.series.failed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(o.series.source).toBe('event-log');
    expect(def.series.completed).toHaveLength(60);
  });
  it('task list: filters, cursor pages and search by id', async () => {
    const dead = await getJson<TaskListResponse>('tasks?state=dead');
    expect(dead.tasks.map((t) => t.id)).toEqual([deadId]);
    expect((await getJson<{ counts: Record<string, number> }>('counts?state=dead')).counts.dead).toBe(1);
    expect((await getJson<{ counts: Record<string, number> }>('counts?queue=flaky')).counts.dead).toBe(1);
    expect((await getJson<{ counts: null }>('counts?queue=flaky&type=flaky')).counts).toBeNull();
    const first = await getJson<TaskListResponse>('tasks?limit=1');
    expect(first.tasks).toHaveLength(1);
    expect(first.cursor).not.toBeNull();
    const second = await getJson<TaskListResponse>(`tasks?limit=1&cursor=${encodeURIComponent(first.cursor!)}`);
    expect(second.tasks[0]!.id).not.toBe(first.tasks[0]!.id);
    const found = await getJson<TaskListResponse>(`tasks?q=${encodeURIComponent(stepsId)}`);
    expect(found.matched).toBe('id');
    expect(found.tasks[0]!.id).toBe(stepsId);
    expect((await getJson<TaskListResponse>('tasks?q=nope')).tasks).toEqual([]);
    expect((await dash.fetch(req(`${BASE}/api/tasks?state=bogus`))).status).toBe(400);
  });
  it('task detail: checkpoint, progress and the events', async () => {
    const d = await getJson<TaskDetailResponse>(`tasks/${encodeURIComponent(stepsId)}`);
    expect(d.task.state).toBe('completed');
    expect(d.checkpoint?.token ?? null).toBe(d.task.hasCheckpoint ? 'step-3' : null);
    expect(d.events.map((e) => e.type)).toEqual(expect.arrayContaining(['task.enqueued', 'task.started', 'task.checkpointed', 'task.completed']));
    expect((await dash.fetch(req(`${BASE}/api/tasks/nope`))).status).toBe(404);
  });
  it('phases: the run and the budget split against usage', async () => {
    const phases = await getJson<{ phases: { phaseId: string; total: number }[] }>('phases?runId=run-1');
    expect(phases.phases).toEqual([expect.objectContaining({ phaseId: 'gather', total: 1 })]);
    const detail = await getJson<{ budget: { costUsd: number }; runIds: string[] }>('phases/gather');
    expect(detail.budget.costUsd).toBe(1);
    expect(detail.runIds).toEqual(['run-1']);
  });
  it('timers: pending custom timers, due soon or later', async () => {
    await baton.timers.schedule('later', 3_600_000, { n: 1 });
    await baton.timers.schedule('soon', 30_000, null);
    const t = await getJson<TimersResponse>('timers');
    expect(t.timers.filter((x) => x.kind === 'custom').map((x) => [x.name, x.status])).toEqual(
      expect.arrayContaining([
        ['soon', 'due-soon'],
        ['later', 'pending'],
      ]),
    );
  });
});

describe('actions', () => {
  it('are refused without the CSRF token, from another origin, without an origin, and as a form post', async () => {
    expect((await action(`tasks/${deadId}/retry`, {}, { [CSRF_HEADER]: 'wrong' })).status).toBe(403);
    expect((await action(`tasks/${deadId}/retry`, {}, { origin: 'https://evil.example' })).status).toBe(403);
    const noOrigin = await dash.fetch(req(`${BASE}/api/tasks/${deadId}/retry`, { method: 'POST', headers: { 'content-type': 'application/json', [CSRF_HEADER]: token }, body: '{}' }));
    expect(noOrigin.status).toBe(403);
    expect((await action(`tasks/${deadId}/retry`, {}, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await action(`tasks/${deadId}/retry`, {}, { 'x-test-deny': '1' })).status).toBe(403);
    expect((await baton.getTask(deadId))!.state).toBe('dead');
  });
  it('are refused by a dashboard without actions, and never by GET', async () => {
    const ro = createDashboard({ baton, basePath: BASE });
    const res = await ro.fetch(req(`${BASE}/api/tasks/${deadId}/retry`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: '{}' }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('ACTIONS_DISABLED');
    expect(((await (await ro.fetch(req(`${BASE}/api/session`))).json()) as SessionInfo).csrfToken).toBeNull();
    expect((await dash.fetch(req(`${BASE}/api/tasks/${deadId}/retry`))).status).toBe(404);
  });
  it('retry runs a dead task again; retrying an unfinished one is a 409', async () => {
    const res = await action(`tasks/${encodeURIComponent(deadId)}/retry`);
    expect(res.status, await res.clone().text()).toBe(200);
    await waitUntil('the retried task to complete', async () => (await baton.getTask(deadId))?.state === 'completed');
    const pending = (await baton.enqueue('steps', { steps: 1 }, { delayMs: 60_000 })).taskId;
    expect((await action(`tasks/${pending}/retry`)).status).toBe(409);
    expect((await action(`tasks/${pending}/cancel`)).status).toBe(200);
    expect((await baton.getTask(pending))!.state).toBe('cancelled');
  });
  it('pause and resume a queue, fleet-wide', async () => {
    expect((await action('queues/flaky/pause')).status).toBe(200);
    expect((await baton.queues.list()).find((q) => q.name === 'flaky')?.paused).toBe(true);
    expect((await getJson<OverviewResponse>('overview')).queues.find((q) => q.name === 'flaky')?.paused).toBe(true);
    expect((await action('queues/flaky/resume')).status).toBe(200);
    expect((await baton.queues.list()).find((q) => q.name === 'flaky')?.paused).toBe(false);
  });
  it('purge counts first and deletes at most the confirmed count', async () => {
    const dry = (await (await action('purge', { filter: { state: 'cancelled' }, dryRun: true })).json()) as { count: number };
    expect(dry.count).toBe(1);
    expect((await action('purge', { filter: { state: 'cancelled' } })).status).toBe(400);
    expect((await action('purge', { filter: { state: 'pending' }, dryRun: true })).status).toBe(400);
    const done = (await (await action('purge', { filter: { state: 'cancelled' }, confirm: dry.count })).json()) as { count: number };
    expect(done.count).toBe(1);
    expect((await getJson<TaskListResponse>('tasks?state=cancelled')).tasks).toEqual([]);
  });
});
