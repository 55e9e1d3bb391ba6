// Scenario 4: enqueue→start latency. A worker (concurrency 10) runs in this process; jobs are
// enqueued one at a time ~2 ms apart; latency = handler start − the moment enqueue was called.
import { makePayload, type Payload } from '../payload.js';
import { quantile } from '../stats.js';
import { now, sleep, waitUntil } from '../time.js';
import { withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const LATENCY: Scenario = {
  id: 4,
  title: 'Enqueue→start latency (jobs ~2 ms apart, worker concurrency 10)',
  metrics: [
    { key: 'p50', unit: 'ms', better: 'lower' },
    { key: 'p99', unit: 'ms', better: 'lower' },
  ],
  runs: (c) => c.runs,
  warmup: true,
  // Time to send every job plus a grace to start them: a system that cannot keep up is marked
  // timeout (its figure then covers the jobs that started) rather than draining a backlog for minutes.
  timeoutMs: (c) => c.latencyJobs * c.latencySpacingMs + c.latencyGraceMs,
  run: (ctx) =>
    withInstance(ctx, { concurrency: ctx.config.latencyConcurrency }, async (inst): Promise<RunResult> => {
      const count = ctx.warmup ? Math.min(100, ctx.config.latencyJobs) : ctx.config.latencyJobs;
      const sent = new Float64Array(count);
      const started = new Float64Array(count);
      let startedCount = 0;
      await inst.startWorker(
        async (p: Payload) => {
          if (started[p.i] === 0) {
            started[p.i] = now();
            startedCount++;
          }
        },
        () => undefined,
      );
      // Let the worker reach its idle wait (blocking read, LISTEN, poll loop) before the first job.
      await sleep(300);
      const spacing = ctx.config.latencySpacingMs;
      const t0 = now();
      let produced = 0;
      for (; produced < count; produced++) {
        if (now() > ctx.deadline) break;
        const due = t0 + produced * spacing;
        if (due - now() >= 1) await sleep(due - now());
        sent[produced] = now();
        await inst.enqueue(makePayload(produced));
      }
      const all = await waitUntil(() => startedCount >= produced, ctx.deadline, 5);
      const lat: number[] = [];
      for (let i = 0; i < produced; i++) if (started[i]! > 0) lat.push(started[i]! - sent[i]!);
      const notes = all && produced === count ? [] : [`${lat.length}/${count} started before the deadline`];
      return { metrics: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) }, timedOut: !all || produced < count, notes };
    }),
};
