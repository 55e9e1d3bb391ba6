// Quick BullMQ baseline on the shared Redis (scenarios 1-3 of issue 7).
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const N = Number(process.env.N ?? 20000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const payload = { user: 'u-123456', action: 'summarize', doc: 'd'.repeat(40), n: 0 };

async function main() {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const name = `bq${Date.now()}`;
  const q = new Queue(name, { connection: conn, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } });
  await q.waitUntilReady();
  // 1. single
  for (let i = 0; i < 500; i++) await q.add('noop', { ...payload, n: i });
  await q.obliterate({ force: true });
  let t = performance.now();
  for (let i = 0; i < N; i++) await q.add('noop', { ...payload, n: i });
  const single = N / ((performance.now() - t) / 1000);
  await q.obliterate({ force: true });
  // 2. batches
  t = performance.now();
  for (let i = 0; i < N; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'noop', data: { ...payload, n: i + j } })));
  const bulk = N / ((performance.now() - t) / 1000);
  // 3. process (jobs from 2 are pre-enqueued)
  const seen = new Set<string>();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  t = performance.now();
  const w = new Worker(name, async (job) => { seen.add(job.id!); if (seen.size === N) done(); }, { connection: new Redis(url, { maxRetriesPerRequest: null }), concurrency: 50, removeOnComplete: { count: 1000 } });
  await finished;
  const proc = N / ((performance.now() - t) / 1000);
  await w.close();
  await q.obliterate({ force: true });
  await q.close();
  conn.disconnect();
  console.log(JSON.stringify({ N, single: Math.round(single), bulk: Math.round(bulk), process: Math.round(proc) }));
  process.exit(0);
}
void main();
