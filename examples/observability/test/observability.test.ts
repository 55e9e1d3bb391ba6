// The example as a user runs it (tsx, one command, no collector): one batch with --once prints
// console spans — the run spans in the request's trace — and a /metrics scrape, and exits 0.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(__dirname, '../../..');

describe('observability example', () => {
  it('prints spans to the console and serves /metrics and /readyz', async () => {
    const { stdout } = await run(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/observability/src/main.ts', '--once', '--port', '0'], { cwd: root, timeout: 60_000 });
    const trace = /batch 1: enqueued .* \(trace ([0-9a-f]{32})\)/.exec(stdout)?.[1];
    expect(trace).toBeDefined();
    for (const name of ['POST /upload', 'send media', 'process media', 'resize 64px', 'checkpoint media', 'process default']) expect(stdout).toContain(`name: '${name}'`);
    expect(stdout).toContain(`traceId: '${trace}'`);
    expect(stdout).toContain('baton_tasks_completed_total{queue="media",type="thumbnail"} 1');
    expect(stdout).toContain('baton_tasks_retried_total{queue="default",type="notify",trigger="backoff"} 1');
    expect(stdout).toContain('--- /readyz: 200');
  }, 90_000);
});
