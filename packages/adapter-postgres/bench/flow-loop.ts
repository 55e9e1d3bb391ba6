// The adapter's own ceiling on the hot path, without the engine: N tasks created in batches of
// 1000 (flow.createAndEnqueue), then claimed, started and completed in batches of B
// (flow.claimAndStart → flow.finishAndSettle), with two events per task appended alongside.
//
//   npx tsx packages/adapter-postgres/bench/flow-loop.ts [--n 20000] [--batch 50] [--pipelined]
//
// Serial mode is the engine's cycle today (claim, run, settle, claim…). --pipelined claims the
// next batch while the previous settle is in flight: what an engine that overlaps them would get.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { newId, type NewEvent } from '@baton/core';
import { postgresBackend } from '@baton/postgres';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = arg('n', 20_000);
const BATCH = arg('batch', 50);
const PIPELINED = args.includes('--pipelined');
const SCHEMA = 'bench_flow_loop';

const admin = new pg.Client({ connectionString: URL });
await admin.connect();
await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
const backend = postgresBackend(URL, { schema: SCHEMA });
const flow = backend.flow!;
await backend.ready();

let t = performance.now();
for (let i = 0; i < N; i += 1000) {
  const tasks = Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({
    id: newId(),
    type: 'noop',
    input: { user: 'user-123456', action: 'send-welcome-email', attempt: 1, i: i + j },
    idempotencyKey: newId(),
    keyTtlMs: 86_400_000,
    runId: null,
    phaseId: null,
    maxRetries: 3,
    budget: null,
  }));
  await flow.createAndEnqueue(tasks, tasks.map(() => undefined));
}
const enqueueRate = N / ((performance.now() - t) / 1000);

const event = (type: NewEvent['type'], taskId: string): NewEvent => ({ id: newId(), type, at: Date.now(), runId: null, phaseId: null, taskId, workerId: 'w', data: {} });
t = performance.now();
let done = 0;
let settling: Promise<unknown> = Promise.resolve();
let events: Promise<unknown> = Promise.resolve();
for (;;) {
  const claimed = await flow.claimAndStart({ limit: BATCH, leaseMs: 60_000, waitMs: 0 }, 'w');
  if (claimed.length === 0) break;
  const settle = () => flow.finishAndSettle(claimed.map((c) => ({ outcome: { ...c.delivery, state: 'completed' as const, result: null, durationMs: 0 }, queue: 'ack' as const })));
  if (PIPELINED) {
    await settling;
    settling = settle();
  } else {
    await settle();
  }
  const batch = claimed.flatMap((c) => [event('task.started', c.delivery.taskId), event('task.completed', c.delivery.taskId)]);
  events = events.then(() => backend.events.append(batch));
  done += claimed.length;
}
await settling;
await events;
const processRate = done / ((performance.now() - t) / 1000);
process.stdout.write(
  `createAndEnqueue: ${enqueueRate.toFixed(0)} tasks/s; claim+start / finish+settle (${PIPELINED ? 'pipelined' : 'serial'}, batch ${BATCH}): ${processRate.toFixed(0)} tasks/s\n`,
);
await backend.close();
await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await admin.end();
