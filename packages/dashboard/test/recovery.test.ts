// A task whose worker process was SIGKILLed mid-run, as the dashboard shows it: real worker
// processes on a shared backend; worker A checkpoints, hangs and is killed; worker B reclaims the
// task after the stall timeout and resumes it from the checkpoint. The task page's timeline must
// tell that story — started on A, lease lost, recovered, started on B, resumed from the token,
// completed — with the checkpoint and progress shown. Set UPDATE_README_SCREENSHOT=1 to refresh
// the README's picture from this run.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Baton } from '@baton/core';
import { launchChromium, openPage, screenshot } from './support/browser.js';
import { ensureUiBuilt, makeBaton, packageDir, serve } from './support/fixtures.js';
import { backendTargets } from './support/backends.js';

const { browser, reason } = await launchChromium();
const root = fileURLToPath(new URL('../../../', import.meta.url));
const workerScript = fileURLToPath(new URL('./support/worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  next(event: string, timeoutMs?: number): Promise<{ taskId?: string }>;
}

function startWorker(kind: string, location: string, id: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript, kind, location, id], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: { event: string; taskId?: string }[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      seen.push(JSON.parse(line) as { event: string });
    } catch {
      return;
    }
    waiters.forEach((w) => w());
  });
  return {
    child,
    next: (event, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = seen.find((x) => x.event === event);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`worker ${id}: no "${event}" within ${timeoutMs} ms; stderr: ${stderr.slice(-1500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

const { targets, left } = await backendTargets({ multiProcess: true });
if (left.length > 0) process.stderr.write(`recovery test leaves out ${left.join('; ')}\n`);

describe.skipIf(browser === null || targets.length === 0)(`a SIGKILLed task in the dashboard${reason ? ` (skipped: ${reason})` : targets.length === 0 ? ' (skipped: no multi-process backend on ports v2 in this checkout)' : ''}`, () => {
  beforeAll(() => ensureUiBuilt());
  afterAll(async () => {
    await browser?.close();
  });

  for (const target of targets) {
    describe(`on ${target.name}`, () => {
      const workers: Worker[] = [];
      let baton: Baton | null = null;
      let location = '';
      afterEach(async () => {
        for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await baton?.close();
        if (location) await target.destroy(location);
      });

      it('shows started on A → lease lost → recovered → started on B → resumed from the token → completed', async () => {
        location = target.location();
        baton = makeBaton(target.create(location));
        await baton.start({ worker: false, timers: false, supervisor: false });
        const { taskId } = await baton.enqueue('steps', { steps: 4, hangAt: 2 }, { runId: 'crash-demo', phaseId: 'crash-demo/gather', budget: { costUsd: 0.1, tokens: 2_000 } });

        const a = startWorker(target.name, location, 'worker-A');
        workers.push(a);
        expect((await a.next('hanging')).taskId).toBe(taskId);
        a.child.kill('SIGKILL');
        await new Promise((r) => a.child.once('exit', r));
        const b = startWorker(target.name, location, 'worker-B');
        workers.push(b);
        const done = await baton.waitFor(taskId, { timeoutMs: 60_000 });
        expect(done.state).toBe('completed');
        expect(done.recoveries).toBe(1);

        const served = await serve({ baton, basePath: '/', actions: false });
        const { page, problems, close } = await openPage(browser!, new URL(served.url).origin);
        try {
          await page.goto(`${served.url}#/task/${encodeURIComponent(taskId)}`);
          const items = page.locator('ol.timeline li');
          await expect.poll(() => items.filter({ hasText: 'Completed' }).count()).toBe(1);
          const titles = (await page.locator('ol.timeline .tl-title').allTextContents()).filter((t) => !t.startsWith('Checkpointed') && !t.startsWith('Progress'));
          expect(titles).toEqual(['Enqueued', 'Started on worker worker-A', 'Lease lost', 'Recovered', 'Started on worker worker-B', 'Resumed from token step-2', 'Completed']);
          expect(await items.filter({ hasText: 'Checkpointed ×2' }).count()).toBeGreaterThanOrEqual(1);
          expect(await page.locator('main').textContent()).toContain('step 2 by worker-A');
          const path = await screenshot(page, `${target.name}-timeline`);
          if (process.env.UPDATE_README_SCREENSHOT === '1') {
            mkdirSync(join(packageDir, 'docs'), { recursive: true });
            copyFileSync(path, join(packageDir, 'docs', 'task-timeline.png'));
          }
          expect(problems).toEqual([]);
        } finally {
          await close();
          await served.close();
        }
      }, 120_000);
    });
  }
});
