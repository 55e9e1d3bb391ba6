// A small side-by-side of @baton/postgres (through createBaton) against pg-boss 10 and
// graphile-worker 0.17 on the same PostgreSQL, for the adapter's own hot-path work. The full,
// multi-backend suite lives in bench/; this one is for measuring changes to this package.
//
//   npx tsx packages/adapter-postgres/bench/compare-peers.ts [--n 20000] [--runs 3] [--only baton,pgboss,graphile] [--scenarios 1,2,3,4,5]
//
// Scenarios (same shape as issue #7): 1 enqueue one by one (N/10, awaited), 2 enqueue N in
// batches of 1000, 3 process N pre-enqueued no-op jobs at concurrency 50, 4 enqueue→start
// latency (2000 jobs ~2 ms apart into a running worker, concurrency 10), 5 checkpoint cost
// (flushed saves, ms each). Each run starts from a freshly created schema.
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile, type Runner, type WorkerUtils } from 'graphile-worker';
import { createBaton, type Baton } from '@baton/core';
import { postgresBackend } from '@baton/postgres';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const N = Number(args.get('n') ?? 20_000);
const RUNS = Number(args.get('runs') ?? 3);
const ONLY = new Set((args.get('only') ?? 'baton,pgboss,graphile').split(','));
const SCENARIOS = new Set((args.get('scenarios') ?? '1,2,3,4,5').split(',').map(Number));
const PAYLOAD = { user: 'user-123456', action: 'send-welcome-email', attempt: 1, meta: { source: 'signup', ts: 1_700_000_000 } };

const silentGraphile = new GraphileLogger(() => () => undefined);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- systems

interface System {
  name: string;
  setup(): Promise<void>;
  enqueueOne(payload: { i: number; sentAt?: number }): Promise<void>;
  enqueueBatch(from: number, count: number): Promise<void>;
  /** Starts a worker with a no-op handler; `onDone(i)` per completed job. */
  startWorker(concurrency: number, onStart: (payload: { i: number; sentAt?: number }) => void): Promise<void>;
  stopWorker(): Promise<void>;
  teardown(): Promise<void>;
}

function batonSystem(): System & { checkpoints(tasks: number, saves: number): Promise<number[]> } {
  const schema = 'bench_baton';
  let baton: Baton;
  let onStart: (p: { i: number; sentAt?: number }) => void = () => undefined;
  const make = (concurrency: number) => {
    baton = createBaton({
      backend: postgresBackend(URL, { schema, poolSize: 10 }),
      worker: { concurrency, pollIntervalMs: 1_000, claimBatchSize: 100 },
      checkpoints: { intervalMs: 0 },
    });
    baton.register('noop', (input) => {
      onStart(input as { i: number; sentAt?: number });
      return null;
    });
  };
  return {
    name: 'baton-postgres',
    async setup() {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      make(50);
      await baton.enqueue('noop', { warm: true }, { key: `warm-${Date.now()}` });
    },
    async enqueueOne(p) {
      await baton.enqueue('noop', { ...PAYLOAD, ...p }, { key: `k-${p.i}-${Math.random()}` });
    },
    async enqueueBatch(from, count) {
      await baton.enqueueMany(Array.from({ length: count }, (_, j) => ({ type: 'noop', input: { ...PAYLOAD, i: from + j }, key: `b-${from + j}-${Math.random()}` })));
    },
    async startWorker(concurrency, cb) {
      onStart = cb;
      await baton.close();
      make(concurrency);
      await baton.start();
    },
    async stopWorker() {
      await baton.stop();
    },
    async teardown() {
      await baton.close();
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
    async checkpoints(tasks, saves) {
      await baton.close();
      const times: number[] = [];
      let done = 0;
      baton = createBaton({ backend: postgresBackend(URL, { schema, poolSize: 10 }), worker: { concurrency: 1, pollIntervalMs: 1_000 }, checkpoints: { intervalMs: 0 } });
      baton.register('cp', async (input, ctx) => {
        for (let s = 0; s < saves; s++) {
          const t0 = performance.now();
          await ctx.saveCheckpoint(`step-${s}`, { step: s, items: [1, 2, 3], note: 'progress' }, { flush: true });
          times.push(performance.now() - t0);
        }
        done++;
        return null;
      });
      await baton.enqueueMany(Array.from({ length: tasks }, (_, i) => ({ type: 'cp', input: { i }, key: `cp-${i}-${Math.random()}` })));
      await baton.start();
      while (done < tasks) await sleep(20);
      await baton.stop();
      return times;
    },
  };
}

function pgBossSystem(): System {
  const schema = 'bench_pgboss';
  let boss: PgBoss;
  const queue = 'noop';
  return {
    name: 'pg-boss',
    async setup() {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      boss = new PgBoss({ connectionString: URL, schema, max: 10, supervise: false, schedule: false });
      boss.on('error', () => undefined);
      await boss.start();
      await boss.createQueue(queue);
    },
    async enqueueOne(p) {
      await boss.send(queue, { ...PAYLOAD, ...p });
    },
    async enqueueBatch(from, count) {
      await boss.insert(Array.from({ length: count }, (_, j) => ({ name: queue, data: { ...PAYLOAD, i: from + j } })));
    },
    async startWorker(concurrency, cb) {
      // pg-boss 10 has no per-worker concurrency: each work() fetches a batch, hands it to the
      // handler and completes it together, then waits the polling interval (0.5 s minimum). Its
      // throughput settings are batchSize and more work() registrations: 10 workers × batches of
      // `concurrency`.
      for (let w = 0; w < 10; w++) {
        await boss.work(queue, { batchSize: concurrency, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          for (const j of jobs) cb(j.data as { i: number; sentAt?: number });
        });
      }
    },
    async stopWorker() {
      await boss.offWork(queue);
    },
    async teardown() {
      await boss.stop({ graceful: false, wait: true });
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

function graphileSystem(): System {
  const schema = 'bench_graphile';
  let utils: WorkerUtils;
  let runner: Runner | null = null;
  const pool = () => {
    const p = new pg.Pool({ connectionString: URL, max: 12 });
    p.on('error', () => undefined);
    p.on('connect', (c) => c.on('error', () => undefined));
    return p;
  };
  let utilPool: pg.Pool;
  let workerPool: pg.Pool | null = null;
  return {
    name: 'graphile-worker',
    async setup() {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      utilPool = pool();
      utils = await makeWorkerUtils({ pgPool: utilPool, schema, logger: silentGraphile });
      await utils.migrate();
    },
    async enqueueOne(p) {
      await utils.addJob('noop', { ...PAYLOAD, ...p });
    },
    async enqueueBatch(from, count) {
      await utils.addJobs(Array.from({ length: count }, (_, j) => ({ identifier: 'noop', payload: { ...PAYLOAD, i: from + j } })));
    },
    async startWorker(concurrency, cb) {
      workerPool = pool();
      // Tuned per graphile-worker's performance docs: local queue batching and batched completion.
      runner = await runGraphile({
        pgPool: workerPool,
        schema,
        concurrency,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger: silentGraphile,
        taskList: {
          noop: async (payload) => {
            cb(payload as { i: number; sentAt?: number });
          },
        },
        preset: { worker: { localQueue: { size: concurrency * 4 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
    },
    async stopWorker() {
      await runner?.stop();
      runner = null;
      await workerPool?.end();
      workerPool = null;
    },
    async teardown() {
      await utils.release();
      await utilPool.end();
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

// ---------------------------------------------------------------- scenarios

async function s1(sys: System): Promise<number> {
  const n = Math.max(100, Math.floor(N / 10));
  for (let i = 0; i < 50; i++) await sys.enqueueOne({ i: -1 - i });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await sys.enqueueOne({ i });
  return n / ((performance.now() - t0) / 1000);
}

async function s2(sys: System): Promise<number> {
  await sys.enqueueBatch(-1000, 1000);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) await sys.enqueueBatch(i, Math.min(1000, N - i));
  if (sys.name === 'baton-postgres') await sys.stopWorker(); // flushes the batched event appends
  return N / ((performance.now() - t0) / 1000);
}

async function s3(sys: System): Promise<{ rate: number; unique: number }> {
  for (let i = 0; i < N; i += 1000) await sys.enqueueBatch(i, Math.min(1000, N - i));
  const seen = new Set<number>();
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const t0 = performance.now();
  await sys.startWorker(50, (p) => {
    if (typeof p.i !== 'number' || p.i < 0) return;
    seen.add(p.i);
    if (seen.size === N) finished();
  });
  await Promise.race([all, sleep(300_000)]);
  const seconds = (performance.now() - t0) / 1000;
  await sys.stopWorker();
  return { rate: seen.size / seconds, unique: seen.size };
}

async function s4(sys: System): Promise<{ p50: number; p99: number }> {
  const lat: number[] = [];
  await sys.startWorker(10, (p) => {
    if (typeof p.sentAt === 'number') lat.push(Date.now() - p.sentAt);
  });
  await sleep(500);
  const total = 2_000;
  for (let i = 0; i < total; i++) {
    await sys.enqueueOne({ i, sentAt: Date.now() });
    await sleep(2);
  }
  for (let i = 0; i < 500 && lat.length < total; i++) await sleep(20);
  await sys.stopWorker();
  return { p50: pct(lat, 50), p99: pct(lat, 99) };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const server = await (async () => {
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    const v = (await c.query('SHOW server_version')).rows[0].server_version as string;
    await c.end();
    return v;
  })();
  process.stdout.write(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, PostgreSQL ${server}; N=${N}, runs=${RUNS}\n`);
  const factories: Record<string, () => System> = { baton: batonSystem, pgboss: pgBossSystem, graphile: graphileSystem };
  const results: Record<string, Record<string, number[]>> = {};
  const record = (sys: string, key: string, v: number) => ((results[sys] ??= {})[key] ??= []).push(v);
  for (let run = 0; run < RUNS; run++) {
    for (const key of ['baton', 'pgboss', 'graphile']) {
      if (!ONLY.has(key)) continue;
      if (SCENARIOS.has(1)) {
        const sys = factories[key]!();
        await sys.setup();
        record(sys.name, 's1 enqueue one-by-one jobs/s', await s1(sys));
        await sys.teardown();
      }
      if (SCENARIOS.has(2)) {
        const sys = factories[key]!();
        await sys.setup();
        record(sys.name, 's2 enqueue batch jobs/s', await s2(sys));
        await sys.teardown();
      }
      if (SCENARIOS.has(3)) {
        const sys = factories[key]!();
        await sys.setup();
        const r = await s3(sys);
        record(sys.name, 's3 process c=50 jobs/s', r.rate);
        if (r.unique !== N) process.stdout.write(`  ! ${sys.name} s3 completed ${r.unique} of ${N}\n`);
        await sys.teardown();
      }
      if (SCENARIOS.has(4)) {
        const sys = factories[key]!();
        await sys.setup();
        const r = await s4(sys);
        record(sys.name, 's4 latency p50 ms', r.p50);
        record(sys.name, 's4 latency p99 ms', r.p99);
        await sys.teardown();
      }
      if (SCENARIOS.has(5) && key === 'baton') {
        const sys = batonSystem();
        await sys.setup();
        const times = await sys.checkpoints(50, 10);
        record(sys.name, 's5 checkpoint p50 ms', pct(times, 50));
        record(sys.name, 's5 checkpoint p99 ms', pct(times, 99));
        await sys.teardown();
      }
      process.stdout.write(`  run ${run + 1}: ${key} done\n`);
    }
  }
  for (const [sys, rows] of Object.entries(results)) {
    process.stdout.write(`\n${sys}\n`);
    for (const [k, xs] of Object.entries(rows)) {
      process.stdout.write(`  ${k.padEnd(32)} median ${median(xs).toFixed(1).padStart(9)}   range ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
