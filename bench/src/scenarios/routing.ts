// Scenario 8: routing. Four named queues (q0…q3) and a fleet of two workers serving disjoint
// pairs (A: q0 + q1, B: q2 + q3), each at concurrency 25, so the fleet runs 50 at once as
// scenario 3's one worker does. N no-op jobs are pre-enqueued, spread evenly over the queues
// (job i goes to queue i mod 4), every tenth job of each queue at high priority, interleaved with
// the normal ones. Measured from worker start to the last completion:
// - jobs/s (headline);
// - violations: runs of a job by a worker that does not serve its queue. Counted, never thrown,
//   so a system that misroutes still gets a row that says so; it must be 0;
// - high rank: the mean position at which the high-priority jobs ran, as a fraction of N (0 =
//   first). About 0.05 when priorities are honoured (they fill the first tenth), about 0.5 when
//   they are ignored. Reported, not asserted: how strictly a system orders a backlog it claims in
//   batches is its own trade-off.
// Each system routes with its own mechanism (see its settings), set up by open() before the clock.
import { makePayloads } from '../payload.js';
import { now } from '../time.js';
import { ROUTED_QUEUES, type RoutedJob, type RoutedQueue } from '../systems/types.js';
import { CompletionTracker, withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

/** Worker A serves q0 and q1, worker B q2 and q3. */
const FLEET: readonly (readonly RoutedQueue[])[] = [ROUTED_QUEUES.slice(0, 2), ROUTED_QUEUES.slice(2, 4)];
/** One job in this many of each queue is high priority. */
const HIGH_EVERY = 10;

const queueOf = (i: number): RoutedQueue => ROUTED_QUEUES[i % ROUTED_QUEUES.length]!;
// Counted within the job's queue (i / 4), so every queue gets the same share of high jobs.
const isHigh = (i: number): boolean => Math.floor(i / ROUTED_QUEUES.length) % HIGH_EVERY === 0;

function routedJobs(from: number, count: number): RoutedJob[] {
  return makePayloads(from, count).map((payload) => ({ queue: queueOf(payload.i), priority: isHigh(payload.i) ? 'high' : 'normal', payload }));
}

export const ROUTING: Scenario = {
  id: 8,
  title: 'Routing: 4 named queues, 2 workers serving disjoint pairs (25 each), 10 % high priority',
  metrics: [
    { key: 'jobs/s', unit: 'jobs/s', better: 'higher' },
    { key: 'violations', unit: 'runs', better: 'lower', compare: false },
    { key: 'high rank', unit: 'of N', better: 'lower', compare: false },
    { key: 'completed', unit: 'unique', better: 'higher', compare: false },
  ],
  runs: (c) => c.runs,
  warmup: true,
  timeoutMs: (c) => c.runTimeoutMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: Math.floor(ctx.config.concurrency / FLEET.length), fleet: FLEET }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? ctx.config.warmup : ctx.config.n;
      for (let done = 0; done < count; done += ctx.config.batchSize) {
        if (now() > ctx.deadline) return { metrics: {}, timedOut: true, notes: ['pre-enqueue did not finish in time'] };
        await inst.enqueueRouted(routedJobs(done, Math.min(ctx.config.batchSize, count - done)));
      }
      // Position of each job's first run (-1: not run); a re-run keeps its first position.
      const rankOf = new Float64Array(count).fill(-1);
      let ran = 0;
      let violations = 0;
      const tracker = new CompletionTracker(count);
      const t0 = now();
      await Promise.all(
        FLEET.map((queues, k) =>
          inst.startRoutedWorker(
            k,
            async (p) => {
              if (!queues.includes(queueOf(p.i))) violations++;
              if (rankOf[p.i] === -1) rankOf[p.i] = ran++;
            },
            tracker.onCompleted,
          ),
        ),
      );
      const ok = await tracker.wait(inst, ctx.deadline);
      const seconds = (now() - t0) / 1000;
      let highs = 0;
      let rankSum = 0;
      for (let i = 0; i < count; i++) {
        if (isHigh(i) && rankOf[i]! >= 0) {
          highs++;
          rankSum += rankOf[i]! / count;
        }
      }
      const notes: string[] = [];
      if (!ok) notes.push(`${tracker.ids.size}/${count} completed at the deadline`);
      if (ok && (ran !== count || tracker.ids.size !== count)) notes.push(`ran ${ran}, completed ${tracker.ids.size} of ${count}`);
      if (tracker.reports > tracker.ids.size) notes.push(`${tracker.reports - tracker.ids.size} duplicate completions`);
      if (violations > 0) notes.push(`${violations} runs on a worker that does not serve the job's queue`);
      return {
        metrics: { 'jobs/s': tracker.ids.size / seconds, violations, 'high rank': highs > 0 ? rankSum / highs : Number.NaN, completed: tracker.ids.size },
        timedOut: !ok,
        notes,
      };
    }),
};
