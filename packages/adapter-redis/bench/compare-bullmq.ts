// Baton on Redis vs BullMQ on the same Redis: issue-7 scenarios 1-5, small and self-contained.
// Not the project benchmark (bench/ does that); a quick check of this adapter's hot path.
//   npx tsx packages/adapter-redis/bench/compare-bullmq.ts            (N=20000, 3 runs, median)
//   N=5000 RUNS=1 ONLY=baton npx tsx packages/adapter-redis/bench/compare-bullmq.ts
import { Queue, Worker, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createBaton, type Baton } from '../../core/src/index.js';
import { redisBackend } from '../src/index.js';

const N = Number(process.env.N ?? 20_000);
const RUNS = Number(process.env.RUNS ?? 3);
const ONLY = process.env.ONLY ?? 'all';
const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const payload = (n: number) => ({ user: 'user-123456', action: 'summarize', doc: 'document-abcdefghijklmnop', n, pad: 'x'.repeat(20) });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function flushPrefix(prefix: string) {
  const r = new Redis(URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

let seq = 0;
function newBaton(concurrency = 50): { baton: Baton; prefix: string } {
  const prefix = `bench_${process.pid}_${++seq}`;
  const backend = redisBackend(URL, { prefix, checkPersistence: false });
  const baton = createBaton({ backend, worker: { concurrency, pollIntervalMs: 1000 }, checkpoints: { intervalMs: 0 } });
  return { baton, prefix: `{${prefix}}` };
}

async function batonRun() {
  const out: Record<string, number> = {};
  // 1. single
  {
    const { baton, prefix } = newBaton();
    baton.register('noop', async () => null);
    for (let i = 0; i < 500; i++) await baton.enqueue('noop', payload(-i - 1));
    const t = performance.now();
    for (let i = 0; i < N; i++) await baton.enqueue('noop', payload(i));
    out.single = rate(N, performance.now() - t);
    await baton.close();
    await flushPrefix(prefix);
  }
  // 2. batch + 3. process
  {
    const { baton, prefix } = newBaton();
    const seen = new Set<string>();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    baton.register('noop', async (_input, ctx) => {
      seen.add(ctx.taskId);
      if (seen.size === N) done();
      return null;
    });
    await baton.enqueueMany(Array.from({ length: 1000 }, (_, j) => ({ type: 'warm', input: payload(j) })));
    let t = performance.now();
    for (let i = 0; i < N; i += 1000) await baton.enqueueMany(Array.from({ length: 1000 }, (_, j) => ({ type: 'noop', input: payload(i + j) })));
    out.batch = rate(N, performance.now() - t);
    baton.register('warm', async () => null);
    t = performance.now();
    await baton.start({ timers: false, supervisor: false });
    await all;
    out.process = rate(N, performance.now() - t);
    out.processUnique = seen.size;
    await baton.close();
    await flushPrefix(prefix);
  }
  // 4. latency
  {
    const { baton, prefix } = newBaton(10);
    const startAt = new Map<number, number>();
    const lat: number[] = [];
    const M = Math.min(2000, N);
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    baton.register('lat', async (input) => {
      const n = (input as { n: number }).n;
      lat.push(performance.now() - startAt.get(n)!);
      if (lat.length === M) done();
      return null;
    });
    await baton.start({ timers: false, supervisor: false });
    await sleep(200);
    for (let i = 0; i < M; i++) {
      startAt.set(i, performance.now());
      await baton.enqueue('lat', payload(i));
      await sleep(2);
    }
    await all;
    out.latP50 = +pct(lat, 50).toFixed(2);
    out.latP99 = +pct(lat, 99).toFixed(2);
    await baton.close();
    await flushPrefix(prefix);
  }
  // 5. checkpoints
  {
    const { baton, prefix } = newBaton(10);
    const per: number[] = [];
    const T = 200;
    let finished = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    baton.register('cp', async (_input, ctx) => {
      for (let k = 0; k < 10; k++) {
        const t0 = performance.now();
        await ctx.saveCheckpoint(`step-${k}`, { k, data: 'y'.repeat(100) }, { flush: true });
        per.push(performance.now() - t0);
      }
      if (++finished === T) done();
      return null;
    });
    await baton.enqueueMany(Array.from({ length: T }, (_, j) => ({ type: 'cp', input: payload(j) })));
    await baton.start({ timers: false, supervisor: false });
    await all;
    out.cpP50 = +pct(per, 50).toFixed(3);
    out.cpP99 = +pct(per, 99).toFixed(3);
    await baton.close();
    await flushPrefix(prefix);
  }
  return out;
}

async function bullRun() {
  const out: Record<string, number> = {};
  const conn = () => new Redis(URL, { maxRetriesPerRequest: null });
  const name = () => `bq${process.pid}x${++seq}`;
  const opts = { removeOnComplete: 1000, removeOnFail: 5000 };
  // 1. single
  {
    const c = conn();
    const q = new Queue(name(), { connection: c, defaultJobOptions: opts });
    for (let i = 0; i < 500; i++) await q.add('noop', payload(-i - 1));
    const t = performance.now();
    for (let i = 0; i < N; i++) await q.add('noop', payload(i));
    out.single = rate(N, performance.now() - t);
    await q.obliterate({ force: true });
    await q.close();
    c.disconnect();
  }
  // 2. batch + 3. process
  {
    const c = conn();
    const qn = name();
    const q = new Queue(qn, { connection: c, defaultJobOptions: opts });
    await q.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'noop', data: payload(j) })));
    await q.obliterate({ force: true });
    let t = performance.now();
    for (let i = 0; i < N; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'noop', data: payload(i + j) })));
    out.batch = rate(N, performance.now() - t);
    const seen = new Set<string>();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    t = performance.now();
    const w = new Worker(qn, async (job) => {
      seen.add(job.id!);
      if (seen.size === N) done();
    }, { connection: conn(), concurrency: 50, removeOnComplete: { count: 1000 } });
    await all;
    out.process = rate(N, performance.now() - t);
    out.processUnique = seen.size;
    await w.close();
    await q.obliterate({ force: true });
    await q.close();
    c.disconnect();
  }
  // 4. latency
  {
    const c = conn();
    const qn = name();
    const q = new Queue(qn, { connection: c, defaultJobOptions: opts });
    const startAt = new Map<number, number>();
    const lat: number[] = [];
    const M = Math.min(2000, N);
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const w = new Worker(qn, async (job) => {
      lat.push(performance.now() - startAt.get((job.data as { n: number }).n)!);
      if (lat.length === M) done();
    }, { connection: conn(), concurrency: 10, removeOnComplete: { count: 1000 } });
    await w.waitUntilReady();
    await sleep(200);
    for (let i = 0; i < M; i++) {
      startAt.set(i, performance.now());
      await q.add('lat', payload(i));
      await sleep(2);
    }
    await all;
    out.latP50 = +pct(lat, 50).toFixed(2);
    out.latP99 = +pct(lat, 99).toFixed(2);
    await w.close();
    await q.obliterate({ force: true });
    await q.close();
    c.disconnect();
  }
  void QueueEvents;
  return out;
}

async function main() {
  const results: Record<string, Record<string, number>[]> = { baton: [], bullmq: [] };
  for (let r = 0; r < RUNS; r++) {
    if (ONLY !== 'bullmq') results.baton!.push(await batonRun());
    if (ONLY !== 'baton') results.bullmq!.push(await bullRun());
  }
  const keys = ['single', 'batch', 'process', 'processUnique', 'latP50', 'latP99', 'cpP50', 'cpP99'];
  const table: Record<string, Record<string, string>> = {};
  for (const k of keys) {
    const row: Record<string, string> = {};
    for (const [sys, runs] of Object.entries(results)) {
      const xs = runs.map((x) => x[k]).filter((x): x is number => x !== undefined);
      if (xs.length) row[sys] = `${median(xs)} [${Math.min(...xs)}..${Math.max(...xs)}]`;
    }
    const b = results.baton!.map((x) => x[k]).filter((x): x is number => x !== undefined);
    const q = results.bullmq!.map((x) => x[k]).filter((x): x is number => x !== undefined);
    if (b.length && q.length) row.ratio = (median(b) / median(q)).toFixed(2);
    table[k] = row;
  }
  console.log(`N=${N} runs=${RUNS} redis=${URL}`);
  console.table(table);
  process.exit(0);
}
void main();
