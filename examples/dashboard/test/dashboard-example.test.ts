// The demo as a user starts it (from the sources, on a fresh SQLite file): it prints the
// dashboard's URL, the dashboard answers, a worker is SIGKILLed and another resumes its tasks from
// their checkpoints. `--once` makes it stop after the first resume.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'baton-dashboard-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dashboard example', () => {
  it('serves the dashboard while a killed worker’s tasks resume from their checkpoints', async () => {
    if (!existsSync(join(root, 'packages/dashboard/dist/ui/index.html'))) execFileSync('npm', ['run', '--silent', 'build:ui'], { cwd: join(root, 'packages/dashboard'), stdio: 'inherit' });
    const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/dashboard/src/main.ts', '--once', '--port', '0', '--db', join(dir, 'demo.db')], {
      cwd: root,
      env: { ...process.env, DEMO_STEP_MS: '250' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (m) ok(m[1]!);
      });
      child.once('exit', (code) => fail(new Error(`exited ${code} before printing its URL: ${stdout}${stderr}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const overview = (await (await fetch(`${url}api/overview`)).json()) as { backend: string };
    expect(overview.backend).toBe('sqlite');
    const code = await new Promise<number | null>((ok) => (child.exitCode !== null ? ok(child.exitCode) : child.once('exit', ok)));
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('killed (SIGKILL) mid-task');
    expect(stdout).toMatch(/worker-[A-Z]: resumed \S+ from checkpoint "step-\d+"/);
  }, 120_000);
});
