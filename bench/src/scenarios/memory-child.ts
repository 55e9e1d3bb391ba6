// Child of scenario 7: a fresh process (so RSS is this system's alone) that keeps a bounded
// backlog fed until `total` tasks completed, sampling RSS, heap and the backend's size.
import { makePayloads } from '../payload.js';
import { systemById } from '../systems/index.js';
import { now, sleep, withDeadline } from '../time.js';
import { tell } from './child.js';

interface Args {
  system: string;
  ns: string;
  total: number;
  samples: number;
  concurrency: number;
  batchSize: number;
  budgetMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const deadline = now() + args.budgetMs;
const hardStop = setTimeout(() => process.exit(3), args.budgetMs + 60_000);
const gc = (globalThis as { gc?: () => void }).gc;
const system = systemById(args.system);
const inst = await system.open(args.ns, { concurrency: args.concurrency });
let completed = 0;
await inst.startWorker(
  async () => undefined,
  () => {
    completed++;
  },
);
const t0 = now();

let lastSampled = -1;

async function sample(): Promise<void> {
  const processed = completed;
  if (processed === lastSampled) return;
  lastSampled = processed;
  gc?.();
  const mem = process.memoryUsage();
  const bytes = await withDeadline(inst.backendBytes(), 30_000, 'backend size').catch(() => null);
  const records = await withDeadline(inst.backendRecords(), 30_000, 'backend records').catch(() => null);
  tell({ sample: { processed, seconds: (now() - t0) / 1000, rss: mem.rss, heap: mem.heapUsed, backend: bytes, records } });
}

await sample();
const step = Math.max(1, Math.floor(args.total / args.samples));
let nextSample = step;
let produced = 0;
while (completed < args.total && now() < deadline) {
  while (produced < args.total && produced - completed < 2 * args.batchSize) {
    const n = Math.min(args.batchSize, args.total - produced);
    await inst.enqueueBatch(makePayloads(produced, n));
    produced += n;
  }
  if (completed >= nextSample) {
    await sample();
    while (nextSample <= completed) nextSample += step;
  }
  await sleep(5);
}
// The closing sample, also when the budget ran out first (it shows how far the run got).
await sample();
tell({ finished: completed >= args.total, completed });
await withDeadline(inst.close(), 20_000, 'close').catch(() => undefined);
clearTimeout(hardStop);
process.exit(0);
