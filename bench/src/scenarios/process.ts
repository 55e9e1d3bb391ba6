// Scenario 3: N pre-enqueued no-op jobs, one process, concurrency 50; jobs/s from worker start
// to the last completion. Unique completions are counted (and each handler run) to prove every
// job ran and completed. CPU µs/job is this process's CPU time over the same window per job: on
// a shared machine it moves far less than wall time, so it is what compares variants of one
// system (e.g. instrumentation on and off); for server backends it leaves out the server's work.
import type { Payload } from '../payload.js';
import { now } from '../time.js';
import { CompletionTracker, preEnqueue, withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const PROCESS: Scenario = {
  id: 3,
  title: 'Process N pre-enqueued no-op jobs (concurrency 50)',
  metrics: [
    { key: 'jobs/s', unit: 'jobs/s', better: 'higher' },
    { key: 'completed', unit: 'unique', better: 'higher', compare: false },
    { key: 'cpu µs/job', unit: 'µs', better: 'lower', compare: false },
  ],
  runs: (c) => c.runs,
  warmup: true,
  timeoutMs: (c) => c.runTimeoutMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: ctx.config.concurrency }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? ctx.config.warmup : ctx.config.n;
      if (!(await preEnqueue(inst, count, ctx.config.batchSize, ctx.deadline))) {
        return { metrics: {}, timedOut: true, notes: ['pre-enqueue did not finish in time'] };
      }
      const ran = new Set<number>();
      const tracker = new CompletionTracker(count);
      const cpu0 = process.cpuUsage();
      const t0 = now();
      await inst.startWorker(async (p: Payload) => {
        ran.add(p.i);
      }, tracker.onCompleted);
      const ok = await tracker.wait(inst, ctx.deadline);
      const seconds = (now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const notes: string[] = [];
      if (!ok) notes.push(`${tracker.ids.size}/${count} completed at the deadline`);
      if (ok && (ran.size !== count || tracker.ids.size !== count)) notes.push(`ran ${ran.size}, completed ${tracker.ids.size} of ${count}`);
      if (tracker.reports > tracker.ids.size) notes.push(`${tracker.reports - tracker.ids.size} duplicate completions`);
      return { metrics: { 'jobs/s': tracker.ids.size / seconds, completed: tracker.ids.size, 'cpu µs/job': (cpu.user + cpu.system) / Math.max(1, tracker.ids.size) }, timedOut: !ok, notes };
    }),
};
