// Quick figures for @baton/nats against NATS_URL (not the project benchmark suite): enqueue single
// and batch through createBaton, claim + finish throughput of a noop handler at concurrency 50, a
// port-level claim → start → finish → ack loop, and checkpoint save latency.
// Run from the repo root: node --import tsx packages/adapter-nats/scripts/quick-bench.ts
import { randomBytes } from 'node:crypto';
import { createBaton, silentLogger } from '../../core/src/index.js';
import { newId, type NewTask, type QueueItem } from '../../core/src/adapter.js';
import { destroyNatsResources, natsBackend, type NatsBackend } from '../src/index.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SINGLE = Number(process.env.SINGLE ?? 1_000);
const BATCH = Number(process.env.BATCH ?? 1_000);
const BATCHES = Number(process.env.BATCHES ?? 5);
const DRAIN = Number(process.env.DRAIN ?? 5_000);
const SAVES = Number(process.env.SAVES ?? 500);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number) => x.toFixed(2);
const rate = (n: number, elapsedMs: number) => Math.round((n / elapsedMs) * 1000).toLocaleString('en-US');
const report = (line: string) => process.stdout.write(`${line}\n`);
const task = (type: string, input: { i?: number }): NewTask => ({
  id: newId(),
  type,
  queue: 'default',
  priority: 0,
  group: null,
  input,
  idempotencyKey: newId(),
  keyTtlMs: 86_400_000,
  runId: null,
  phaseId: null,
  maxRetries: 3,
  budget: null,
  traceContext: null,
});
const item = (t: NewTask): QueueItem => ({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group });

async function withBackend<T>(fn: (b: NatsBackend) => Promise<T>): Promise<T> {
  const prefix = `qb_${randomBytes(5).toString('hex')}`;
  const backend = natsBackend(NATS_URL, { prefix });
  await backend.ready({ logger: silentLogger });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
    await destroyNatsResources(NATS_URL, prefix);
  }
}

async function enqueueFigures(): Promise<void> {
  await withBackend(async (backend) => {
    const baton = createBaton({ backend, logger: silentLogger });
    baton.register('noop', () => null);
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < SINGLE; i++) {
      const s = performance.now();
      await baton.enqueue('noop', { i });
      lat.push(performance.now() - s);
    }
    const single = performance.now() - t0;
    report(`enqueue single (sequential, ${SINGLE}): ${rate(SINGLE, single)} tasks/s, p50 ${ms(pct(lat, 50))} ms, p99 ${ms(pct(lat, 99))} ms`);
    const bl: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const specs = Array.from({ length: BATCH }, (_, i) => ({ type: 'noop', input: { b, i } }));
      const s = performance.now();
      await baton.enqueueMany(specs);
      bl.push(performance.now() - s);
    }
    report(`enqueue batch (enqueueMany of ${BATCH}, ${BATCHES}×): ${rate(BATCH * BATCHES, bl.reduce((a, x) => a + x, 0))} tasks/s, median batch ${ms(pct(bl, 50))} ms`);
    await baton.close();
  });
}

async function drainFigures(): Promise<void> {
  await withBackend(async (backend) => {
    const producer = createBaton({ backend, logger: silentLogger });
    for (let off = 0; off < DRAIN; off += 1_000) {
      await producer.enqueueMany(Array.from({ length: Math.min(1_000, DRAIN - off) }, (_, i) => ({ type: 'noop', input: { i: off + i } })));
    }
    const worker = createBaton({ backend, logger: silentLogger, worker: { concurrency: 50, pollIntervalMs: 50, stallTimeoutMs: 60_000 } });
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      worker.on('task.completed', () => {
        if (++done === DRAIN) resolve();
      });
    });
    worker.register('noop', () => null);
    const t0 = performance.now();
    await worker.start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, 120_000)))]);
    clearTimeout(timer);
    const elapsed = performance.now() - t0;
    report(`claim + finish via createBaton (noop, concurrency 50, ${DRAIN} queued): ${done} done, ${rate(done, elapsed)} tasks/s`);
    await worker.close();
    await producer.close();
  });

  await withBackend(async (backend) => {
    const tasks: NewTask[] = Array.from({ length: DRAIN }, (_, i) => task('noop', { i }));
    for (let off = 0; off < DRAIN; off += 1_000) {
      const slice = tasks.slice(off, off + 1_000);
      await backend.tasks.create(slice);
      await backend.queue.enqueue(slice.map(item));
    }
    let done = 0;
    const t0 = performance.now();
    while (done < DRAIN) {
      const ds = await backend.queue.claim({ queues: ['default'], limit: 100, leaseMs: 60_000, waitMs: 100 });
      if (ds.length === 0) break;
      await backend.tasks.start(ds.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId: 'qb' })));
      await backend.tasks.finish(ds.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, state: 'completed' as const, result: null, durationMs: 0 })));
      await backend.queue.ack(ds);
      done += ds.length;
    }
    report(`port loop claim(100) → start → finish → ack (one process, ${DRAIN}): ${rate(done, performance.now() - t0)} tasks/s`);
  });
}

async function checkpointFigures(): Promise<void> {
  await withBackend(async (backend) => {
    const t = task('cp', {});
    await backend.tasks.create([t]);
    await backend.queue.enqueue([item(t)]);
    const [d] = await backend.queue.claim({ queues: ['default'], limit: 1, leaseMs: 600_000, waitMs: 1_000 });
    await backend.tasks.start([{ taskId: t.id, leaseId: d!.leaseId, workerId: 'qb' }]);
    for (const size of [1_024, 100 * 1_024]) {
      const body = new Uint8Array(randomBytes(size));
      const lat: number[] = [];
      for (let i = 0; i < SAVES; i++) {
        const s = performance.now();
        const ok = await backend.checkpoints.save(t.id, d!.leaseId, { token: `s${i}`, encoding: 'json', body, sizeBytes: size });
        lat.push(performance.now() - s);
        if (!ok) throw new Error('checkpoint save refused');
      }
      report(`checkpoint save (${size / 1024} KB, ${SAVES} sequential): p50 ${ms(pct(lat, 50))} ms, p99 ${ms(pct(lat, 99))} ms`);
    }
  });
}

report(`@baton/nats quick bench against ${NATS_URL} (Node ${process.version})`);
await enqueueFigures();
await drainFigures();
await checkpointFigures();
