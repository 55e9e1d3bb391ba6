// A plain script on the memory backend (real clock, no FakeClock) must not exit while it awaits
// work that timers will start. Node exits with code 13 when the event loop runs empty under an
// unsettled top-level await: that is what happens if every timer driving the work is unreferenced.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-keepalive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `body` as an ES module script with tsx (resolving @baton/* to the sources, as the tests do); returns its exit code and stdout. */
async function script(name: string, body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `${name}.mts`);
  await writeFile(file, `import { createBaton, silentLogger } from '@baton/core';\nimport { memoryBackend } from '@baton/memory';\n${body}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a script on the memory backend', () => {
  it('waitFor of a delayed task completes instead of exiting with code 13', { timeout: 60_000 }, async () => {
    const r = await script(
      'delayed',
      `const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, worker: { pollIntervalMs: 50 } });
baton.register('later', () => 'done');
await baton.start();
const { taskId } = await baton.enqueue('later', {}, { delayMs: 1_500 });
const t = await baton.waitFor(taskId, { timeoutMs: 20_000 });
console.log(JSON.stringify({ state: t.state, result: t.result }));
await baton.close();`,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ state: 'completed', result: 'done' });
  });

  it('waitFor of a task whose retry timer is pending completes', { timeout: 60_000 }, async () => {
    const r = await script(
      'retry',
      `const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, retry: { baseMs: 1_500 } });
let runs = 0;
baton.register('flaky', () => { if (++runs === 1) throw new Error('first run fails'); return 'ok'; });
await baton.start();
const { taskId } = await baton.enqueue('flaky', {});
const t = await baton.waitFor(taskId, { timeoutMs: 20_000 });
console.log(JSON.stringify({ state: t.state, runs }));
await baton.close();`,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ state: 'completed', runs: 2 });
  });

  // The memory backend holds the process open while a delivery or timer is pending in it, so
  // a script that awaits anything (here: an event) sees its delayed task run.
  it('a script awaiting an event, not waitFor, stays alive until the delayed task ran', { timeout: 60_000 }, async () => {
    const r = await script(
      'on-event',
      `const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, worker: { pollIntervalMs: 50 } });
baton.register('later', () => 'done');
await baton.start();
const done = new Promise((resolve) => baton.on('task.completed', resolve));
await baton.enqueue('later', {}, { delayMs: 1_500 });
await done;
console.log('completed');
await baton.close();`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('completed');
  });
});
