// Scenario 1: enqueue N jobs one by one, each awaited before the next.
import { makePayload } from '../payload.js';
import { now } from '../time.js';
import { withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const ENQUEUE_SINGLE: Scenario = {
  id: 1,
  title: 'Enqueue N one by one (each awaited)',
  metrics: [{ key: 'jobs/s', unit: 'jobs/s', better: 'higher' }],
  runs: (c) => c.runs,
  warmup: true,
  timeoutMs: (c) => c.runTimeoutMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: ctx.config.concurrency }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? ctx.config.warmup : ctx.config.n;
      const t0 = now();
      let done = 0;
      for (; done < count; done++) {
        if (now() > ctx.deadline) break;
        await inst.enqueue(makePayload(done));
      }
      const seconds = (now() - t0) / 1000;
      return { metrics: { 'jobs/s': done / seconds }, timedOut: done < count, notes: done < count ? [`${done}/${count} enqueued`] : [] };
    }),
};
