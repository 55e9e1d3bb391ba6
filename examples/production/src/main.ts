// Production preset demo: enqueue 40 reports, run two worker processes on Redis (queue,
// heartbeats) + Postgres (tasks, checkpoints, timers, events), show who did what, stop both
// gracefully. Needs REDIS_URL and DATABASE_URL (defaults: the local servers).
//
//   npm run -w @baton-examples/production start
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBaton, type TaskRecord } from '@baton/core';
import { productionBackend } from './preset.js';

const line = (s = '') => process.stdout.write(`${s}\n`);
const env = {
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  BATON_PREFIX: process.env.BATON_PREFIX ?? 'baton_example',
  BATON_SCHEMA: process.env.BATON_SCHEMA ?? 'baton_example',
};

const producer = createBaton({
  backend: productionBackend({ redis: env.REDIS_URL, postgres: env.DATABASE_URL, prefix: env.BATON_PREFIX, schema: env.BATON_SCHEMA }),
});
const runId = `run-${Date.now()}`;
const enqueued = await producer.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ type: 'monthly-report', input: { customer: i }, runId })));
line(`enqueued ${enqueued.length} reports (run ${runId}) on ${producer.backend.name}`);

const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
const workers = ['worker-a', 'worker-b'].map((name) => fork(workerFile, [name], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
const done: TaskRecord[] = await Promise.all(enqueued.map((e) => producer.waitFor(e.taskId, { timeoutMs: 60_000 })));

const by = new Map<string, number>();
for (const t of done) {
  const who = (t.result as { by: string }).by;
  by.set(who, (by.get(who) ?? 0) + 1);
}
line(`completed ${done.filter((t) => t.state === 'completed').length}/${done.length}: ${[...by].map(([w, n]) => `${w} ${n}`).join(', ')}`);
const cost = done.reduce((sum, t) => sum + t.usage.costUsd, 0);
line(`cost $${cost.toFixed(3)}, checkpoints left: ${(await producer.stats()).checkpoints.count} (deleted on completion)`);

await Promise.all(workers.map((w) => new Promise((r) => (w.on('exit', r), w.kill('SIGTERM')))));
line('both workers stopped gracefully');
await producer.close();
