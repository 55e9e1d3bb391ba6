// The dashboard in a real browser (Debian's Chromium through playwright-core), on each backend:
// the overview loads, the list pages and filters, a dead task is retried with a click and
// completes, a queue is paused with a click, and hostile strings in every user-supplied field
// render as text without running. Screenshots of each page go to test-artifacts/ (gitignored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Baton, JsonObject } from '@baton/core';
import { backendTargets } from './support/backends.js';
import { launchChromium, openPage, screenshot } from './support/browser.js';
import { ensureUiBuilt, makeBaton, registerDemoTypes, serve, waitUntil, type Served } from './support/fixtures.js';

const { browser, reason } = await launchChromium();
const { targets, left } = await backendTargets();
if (left.length > 0) process.stderr.write(`browser suite leaves out ${left.join('; ')}\n`);

// Each payload, if it were parsed as HTML or script, would open a dialog, log a failed image
// load or set window.__xss.
const XSS = {
  img: '<img src=x onerror="window.__xss=1;alert(1)">',
  script: '</script><script>window.__xss=2;alert(2)</script>',
  svg: '<svg/onload=alert(3)>',
  attr: '" onmouseover="alert(4)" x="',
  link: 'javascript:alert(5)',
};
const XSS_TEXT = Object.values(XSS).join(' ');

describe.skipIf(browser === null)(`dashboard in Chromium${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(() => ensureUiBuilt());
  afterAll(async () => {
    await browser?.close();
  });

  for (const target of targets) {
    describe(`on ${target.name}`, () => {
      let baton: Baton;
      let served: Served;
      const location = target.location();
      const ids: Record<string, string> = {};
      const state = { failUntilRetried: new Set<string>() };

      beforeAll(async () => {
        baton = makeBaton(target.create(location));
        registerDemoTypes(baton, state);
        baton.register<JsonObject, JsonObject>(
          XSS.img,
          async (input, ctx) => {
            await ctx.saveCheckpoint(XSS.script, { note: XSS_TEXT }, { flush: true });
            await ctx.reportProgress({ ratio: 0.5, label: XSS.svg });
            if (input.fail) throw new Error(`failed: ${XSS_TEXT}`);
            return { echo: XSS_TEXT, [XSS.img]: XSS.script };
          },
          { queue: 'hostile', retry: { maxRetries: 0 } },
        );
        await baton.start();
        const many = await baton.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ type: 'steps', input: { steps: 2, label: `bulk ${i}` }, runId: 'run-demo', phaseId: i < 60 ? 'fetch' : 'summarise', budget: { costUsd: 0.05, tokens: 1_000 } })));
        ids.dead = (await baton.enqueue('flaky', { why: 'upstream 503' })).taskId;
        ids.hostileOk = (await baton.enqueue(XSS.img, { payload: XSS_TEXT, [XSS.attr]: XSS.link }, { runId: XSS.svg, phaseId: XSS.script })).taskId;
        ids.hostileFail = (await baton.enqueue(XSS.img, { payload: XSS_TEXT, fail: true })).taskId;
        await baton.timers.schedule('nightly-report', 45_000, { to: XSS.img });
        for (const id of [ids.dead, ids.hostileOk, ids.hostileFail, ...many.map((m) => m.taskId)]) await baton.waitFor(id!, { timeoutMs: 30_000 });
        served = await serve({ baton, basePath: '/ops/baton', actions: true, authorize: () => true, pollMs: 500 });
      });

      afterAll(async () => {
        await served?.close();
        await baton?.close();
        await target.destroy(location);
      });

      it('loads the overview: queues with counts, sparklines and no request off the machine', async () => {
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          await page.goto(served.url);
          const table = page.getByRole('table', { name: 'Queues' });
          await expect.poll(() => table.locator('tr[data-queue="default"] td').nth(4).textContent()).toBe('120');
          expect(await table.locator('tr[data-queue="flaky"] td').nth(5).textContent()).toBe('1');
          expect(await page.locator('.sparkline').count()).toBeGreaterThanOrEqual(3);
          await screenshot(page, `${target.name}-overview`);
          expect(problems).toEqual([]);
        } finally {
          await close();
        }
      });

      it('lists tasks by server-side pages, filters by state and opens a task', async () => {
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          await page.goto(`${served.url}#/tasks`);
          const rows = page.getByRole('table', { name: 'Tasks' }).locator('tbody tr');
          await expect.poll(() => rows.count()).toBe(50);
          // Tasks enqueued together share the start of their ids (UUID v7: the creation time), so
          // the short form the table shows must still tell every row apart.
          const shown = await rows.locator('td:first-child code').allTextContents();
          expect(new Set(shown).size).toBe(shown.length);
          await page.getByRole('button', { name: 'Next →' }).click();
          await expect.poll(() => page.evaluate(() => window.location.hash)).toContain('cursor=');
          await expect.poll(() => rows.count()).toBe(50);
          await screenshot(page, `${target.name}-tasks`);
          await page.goto(`${served.url}#/tasks?state=dead`);
          await expect.poll(() => rows.count()).toBe(2);
          await page.goto(`${served.url}#/tasks?q=${encodeURIComponent(ids.dead!)}`);
          await expect.poll(() => rows.count()).toBe(1);
          await rows.first().locator('a').click();
          await expect.poll(() => page.locator('h1 code.task-id').textContent()).toBe(ids.dead);
          await page.goto(`${served.url}#/runs?runId=run-demo`);
          await expect.poll(() => page.getByRole('table', { name: 'Phases' }).locator('tbody tr').count()).toBe(2);
          await screenshot(page, `${target.name}-runs`);
          await page.getByRole('link', { name: 'fetch' }).click();
          await expect.poll(() => page.getByRole('table', { name: 'Phase tasks' }).locator('tbody tr').count()).toBe(60);
          await screenshot(page, `${target.name}-phase`);
          await page.goto(`${served.url}#/timers`);
          await expect.poll(() => page.getByRole('table', { name: 'Timers' }).locator('tbody tr').filter({ hasText: 'nightly-report' }).count()).toBe(1);
          await screenshot(page, `${target.name}-timers`);
          expect(problems).toEqual([]);
        } finally {
          await close();
        }
      });

      it('retries a dead task with a click and shows it complete', async () => {
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          await page.goto(`${served.url}#/task/${encodeURIComponent(ids.dead!)}`);
          await expect.poll(() => page.locator('h1 .badge').textContent()).toBe('dead');
          await screenshot(page, `${target.name}-task-dead`);
          await page.getByRole('button', { name: 'Retry' }).click();
          await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 20_000 }).toBe('completed');
          await expect.poll(() => page.locator('ol.timeline li').filter({ hasText: 'Retried by an operator' }).count()).toBe(1);
          expect((await baton.getTask(ids.dead!))!.state).toBe('completed');
          await screenshot(page, `${target.name}-task-retried`);
          expect(problems).toEqual([]);
        } finally {
          await close();
        }
      });

      it('pauses a queue with a click: the flag shows and every worker stops taking from it', async () => {
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          await page.goto(served.url);
          const row = page.locator('tr[data-queue="flaky"]');
          await row.getByRole('button', { name: 'Pause' }).click();
          await expect.poll(() => row.locator('.badge.paused').count()).toBe(1);
          expect((await baton.queues.list()).find((q) => q.name === 'flaky')?.paused).toBe(true);
          const held = (await baton.enqueue('flaky', { why: 'while paused' })).taskId;
          await new Promise((r) => setTimeout(r, 300));
          expect((await baton.getTask(held))!.state).toBe('pending');
          await screenshot(page, `${target.name}-overview-paused`);
          await row.getByRole('button', { name: 'Resume' }).click();
          await expect.poll(() => row.locator('.badge.paused').count()).toBe(0);
          await waitUntil('the held task to run', async () => (await baton.getTask(held))?.state !== 'pending');
          expect(problems).toEqual([]);
        } finally {
          await close();
        }
      });

      it('renders hostile input, results, errors, type names, checkpoints and progress as text; nothing executes', async () => {
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          for (const path of ['', '#/tasks', `#/tasks?queue=hostile`, `#/task/${encodeURIComponent(ids.hostileOk!)}`, `#/task/${encodeURIComponent(ids.hostileFail!)}`, '#/runs', '#/timers']) {
            await page.goto(`${served.url}${path}`);
            await page.waitForLoadState('networkidle');
            await expect.poll(() => page.locator('main').textContent()).not.toBe('');
          }
          await page.goto(`${served.url}#/task/${encodeURIComponent(ids.hostileFail!)}`);
          await expect.poll(() => page.locator('.error-message').textContent()).toBe(`failed: ${XSS_TEXT}`);
          expect(await page.locator('.cp-token').textContent()).toBe(XSS.script);
          await screenshot(page, `${target.name}-xss`);
          await page.goto(`${served.url}#/task/${encodeURIComponent(ids.hostileOk!)}`);
          await expect.poll(() => page.locator('main').textContent()).toContain(XSS.img);
          // Hover everything, in case an attribute payload became a handler.
          for (const el of await page.locator('main *').all()) await el.hover({ timeout: 200 }).catch(() => undefined);
          expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
          expect(await page.locator('main img, main script, main iframe, main svg[onload]').count()).toBe(0);
          expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
          expect(problems).toEqual([]);
        } finally {
          await close();
        }
      });
    });
  }
});
