// Scenario 7: memory. A fresh child process runs 200,000 tasks through one system with its
// default retention; RSS and the backend's size are sampled along the way. A plateau shows as
// little growth between the middle and the end of the run.
import { withDeadline } from '../time.js';
import { spawnChild } from './child.js';
import type { RunResult, Scenario } from './types.js';

export interface MemorySample {
  processed: number;
  seconds: number;
  rss: number;
  heap: number;
  backend: number | null;
  records: number | null;
}

const MB = 1024 * 1024;

function growth(from: number | null | undefined, to: number | null | undefined): number {
  if (from === null || from === undefined || to === null || to === undefined || from === 0) return Number.NaN;
  return ((to - from) / from) * 100;
}

export const MEMORY: Scenario = {
  id: 7,
  title: 'Memory after many processed tasks (default retention)',
  metrics: [
    { key: 'processed', unit: 'tasks', better: 'higher', compare: false },
    { key: 'rss', unit: 'MB', better: 'lower' },
    { key: 'rss growth', unit: '% 2nd half', better: 'lower', compare: false },
    { key: 'backend', unit: 'MB', better: 'lower' },
    { key: 'backend growth', unit: '% 2nd half', better: 'lower', compare: false },
    { key: 'records', unit: 'live rows / keys', better: 'lower' },
    { key: 'records growth', unit: '% 2nd half', better: 'lower', compare: false },
  ],
  runs: () => 1,
  warmup: false,
  timeoutMs: (c) => c.memoryTimeoutMs + 90_000,
  async run(ctx): Promise<RunResult> {
    const { config } = ctx;
    const samples: MemorySample[] = [];
    let finished = false;
    const child = spawnChild(
      'memory-child.ts',
      { system: ctx.system.id, ns: ctx.ns, total: config.memoryTasks, samples: config.memorySamples, concurrency: config.concurrency, batchSize: config.batchSize, budgetMs: config.memoryTimeoutMs },
      (msg) => {
        if (msg.sample) samples.push(msg.sample as MemorySample);
        if (msg.finished === true) finished = true;
      },
      ['--expose-gc'],
    );
    try {
      await withDeadline(child.exited, config.memoryTimeoutMs + 80_000, 'memory child');
    } finally {
      child.kill('SIGKILL');
    }
    const last = samples.at(-1);
    if (!last) return { metrics: {}, timedOut: true, notes: [`no samples; ${child.stderr().split('\n').slice(-3).join(' | ')}`] };
    const mid = samples.reduce((best, s) => (Math.abs(s.processed - last.processed / 2) < Math.abs(best.processed - last.processed / 2) ? s : best), samples[0]!);
    return {
      metrics: {
        processed: last.processed,
        rss: last.rss / MB,
        'rss growth': growth(mid.rss, last.rss),
        ...(last.backend === null ? {} : { backend: last.backend / MB, 'backend growth': growth(mid.backend, last.backend) }),
        ...(last.records === null || last.records === undefined ? {} : { records: last.records, 'records growth': growth(mid.records, last.records) }),
      },
      timedOut: !finished,
      notes: finished ? [] : [`${last.processed}/${config.memoryTasks} processed within ${config.memoryTimeoutMs / 1000} s`],
      detail: samples,
    };
  },
};
