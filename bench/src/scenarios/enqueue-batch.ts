// Scenario 2: enqueue N jobs in batches of 1,000 (addBulk / insert / addJobs / enqueueMany).
import { makePayloads } from '../payload.js';
import { now } from '../time.js';
import { withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const ENQUEUE_BATCH: Scenario = {
  id: 2,
  title: 'Enqueue N in batches of 1,000',
  metrics: [{ key: 'jobs/s', unit: 'jobs/s', better: 'higher' }],
  runs: (c) => c.runs,
  warmup: true,
  timeoutMs: (c) => c.runTimeoutMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: ctx.config.concurrency }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? ctx.config.warmup : ctx.config.n;
      const size = ctx.config.batchSize;
      // Payloads are built before the clock starts: only the systems' work is timed.
      const batches = Array.from({ length: Math.ceil(count / size) }, (_, b) => makePayloads(b * size, Math.min(size, count - b * size)));
      const t0 = now();
      let done = 0;
      for (const batch of batches) {
        if (now() > ctx.deadline) break;
        await inst.enqueueBatch(batch);
        done += batch.length;
      }
      const seconds = (now() - t0) / 1000;
      return { metrics: { 'jobs/s': done / seconds }, timedOut: done < count, notes: done < count ? [`${done}/${count} enqueued`] : [] };
    }),
};
