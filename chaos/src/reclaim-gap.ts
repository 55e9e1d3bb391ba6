// `npm run -w chaos reclaim-gap -- --backend=<sqlite|redis|postgres|nats|production>`: a
// deterministic reproduction of the loss the chaos runs found (RELIABILITY.md, "Findings").
//
// Supervisor.reclaim() makes two separate writes: queue.reclaimExpired() (the delivery's expired
// lease is cleared and the delivery is ready again) and then tasks.recover() (the task goes back to
// pending). A supervisor SIGKILLed between the two — or whose recover() call fails — leaves the task
// 'running' under a dead lease with a ready, unleased delivery. Every claimer then sees 'running',
// takes it for a reclaim in progress and releases the delivery for a second; no lease ever expires
// again, the reconciler only looks at pending tasks: the task never runs again.
//
// This script plays worker A (claims, starts, dies) and B's supervisor (reclaimExpired, dies),
// then starts a healthy worker and waits 15 s. Exit 1: the task is stuck (the bug); 0: it completed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBaton, silentLogger } from '@baton/core';
import { destroyNamespace, makeBackend, type Endpoints } from './backends.js';
import { BACKENDS, type BackendKind } from './config.js';
import { DATABASE_URL, MYSQL_URL, NATS_URL, REDIS_URL } from './services.js';

const arg = process.argv.slice(2).find((a) => a.startsWith('--backend='))?.slice('--backend='.length) ?? 'sqlite';
if (!(BACKENDS as readonly string[]).includes(arg)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}.`);
const kind = arg as BackendKind;
const ns = `gap_${randomBytes(5).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'baton-gap-'));
const endpoints: Endpoints = {
  ...(kind === 'redis' || kind === 'production' ? { redis: REDIS_URL } : {}),
  ...(kind === 'postgres' || kind === 'production' ? { postgres: DATABASE_URL } : {}),
  ...(kind === 'nats' ? { nats: NATS_URL } : {}),
  ...(kind === 'mysql' ? { mysql: MYSQL_URL } : {}),
  ...(kind === 'sqlite' ? { sqliteFile: join(dir, `${ns}.db`) } : {}),
};
const LEASE_MS = 500;
const say = (m: string) => process.stdout.write(`${m}\n`);

const backend = makeBackend(kind, ns, endpoints, { stallMs: LEASE_MS });
const baton = createBaton({ backend, worker: { stallTimeoutMs: LEASE_MS, heartbeatIntervalMs: 100, pollIntervalMs: 50 } });
await backend.ready({ logger: silentLogger });
let code = 2;
try {
  baton.register('job', () => 'done');
  const { taskId } = await baton.enqueue('job', { n: 1 });

  // Worker A claims and starts the task, then is SIGKILLed: its lease is never extended.
  const [d] = await backend.queue.claim({ queues: ['default'], limit: 1, leaseMs: LEASE_MS, waitMs: 0 });
  if (!d) throw new Error('nothing claimed');
  await backend.tasks.start([{ taskId, leaseId: d.leaseId, workerId: 'worker-a' }]);
  await new Promise((r) => setTimeout(r, LEASE_MS + 200));

  // Worker B's supervisor: the first of Supervisor.reclaim()'s two writes, then B is SIGKILLed.
  const refs = await backend.queue.reclaimExpired(10);
  say(`${backend.name}: reclaimExpired() returned ${refs.length} expired lease(s); the supervisor dies before tasks.recover()`);

  // A healthy worker (with its own supervisor) from now on.
  await baton.start();
  try {
    const t = await baton.waitFor(taskId, { timeoutMs: 15_000 });
    say(`task ${taskId} ended ${t.state}: no loss`);
    code = t.state === 'completed' ? 0 : 1;
  } catch {
    const t = await baton.getTask(taskId);
    say(`STUCK: task ${taskId} is still ${t?.state} after 15 s (recoveries ${t?.recoveries}) with a healthy worker running`);
    code = 1;
  }
} finally {
  await baton.close({ deadlineMs: 1_000 });
  await destroyNamespace(kind, ns, endpoints).catch((err: unknown) => say(`cleanup: ${String(err)}`));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
