import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'baton-quickstart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quickstart(...args: string[]) {
  return run(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/quickstart/src/main.ts', '--db', join(dir, 'baton.db'), ...args], {
    cwd: root,
    env: { ...process.env, BATON_STEP_MS: '150' },
    timeout: 60_000,
  });
}

describe('quickstart', () => {
  it('kills worker 1 mid-pipeline and worker 2 resumes every task from its checkpoint', async () => {
    const { stdout } = await quickstart('--fresh');
    expect(stdout).toContain('worker-1 killed (SIGKILL)');
    expect(stdout).toMatch(/worker-2 .*\(resumed from checkpoint "(collect|analyse)-complete"\)/);
    expect(stdout.match(/ completed /g)).toHaveLength(3);
    for (const topic of ['solar', 'fusion', 'tidal']) expect(stdout).toMatch(new RegExp(`${topic} +completed +1 `));
  }, 90_000);

  it('a second run over the same file finds the work done (idempotent enqueue)', async () => {
    const { stdout } = await quickstart();
    expect(stdout).toContain('already completed');
  }, 60_000);
});
