// Scenario 5: checkpoint cost. Half the tasks save 10 checkpoints each with { flush: true }
// (every save is a durable write), half save none; one worker slot so nothing queues behind
// the saves. Reports each save's duration (p50 / p99) and the per-checkpoint difference of the
// two kinds' median task durations.
import { checkpointData, type Payload } from '../payload.js';
import { median, quantile } from '../stats.js';
import { now } from '../time.js';
import { CompletionTracker, preEnqueue, withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const CHECKPOINT: Scenario = {
  id: 5,
  title: 'Checkpoint cost (10 saves with { flush: true } per task vs none)',
  metrics: [
    { key: 'p50', unit: 'ms/checkpoint', better: 'lower' },
    { key: 'p99', unit: 'ms/checkpoint', better: 'lower' },
    { key: 'task Δ', unit: 'ms/checkpoint', better: 'lower', compare: false },
  ],
  runs: (c) => c.runs,
  warmup: true,
  timeoutMs: (c) => c.runTimeoutMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: 1 }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? Math.min(10, ctx.config.checkpointTasks) : ctx.config.checkpointTasks;
      const per = ctx.config.checkpointsPerTask;
      if (!(await preEnqueue(inst, count, ctx.config.batchSize, ctx.deadline))) return { metrics: {}, timedOut: true };
      const saves: number[] = [];
      const withCp: number[] = [];
      const without: number[] = [];
      const tracker = new CompletionTracker(count);
      await inst.startWorker(async (p: Payload, job) => {
        const t0 = now();
        if (p.i % 2 === 0) {
          for (let step = 1; step <= per; step++) {
            const s = now();
            await job.checkpoint!(step, checkpointData(step));
            saves.push(now() - s);
          }
          withCp.push(now() - t0);
        } else {
          without.push(now() - t0);
        }
      }, tracker.onCompleted);
      const ok = await tracker.wait(inst, ctx.deadline);
      return {
        metrics: { p50: quantile(saves, 0.5), p99: quantile(saves, 0.99), 'task Δ': (median(withCp) - median(without)) / per },
        timedOut: !ok,
        notes: ok ? [] : [`${tracker.ids.size}/${count} tasks completed at the deadline`],
      };
    }),
};
