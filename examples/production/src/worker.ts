// One worker process of the production example. Runs until SIGTERM, then shuts down
// gracefully: in-flight tasks finish (or are released), checkpoints are flushed.
import { createBaton, type TaskContext } from '@baton/core';
import { productionBackend } from './preset.js';

export interface ReportInput {
  customer: number;
}

const name = process.argv[2] ?? `worker-${process.pid}`;
const baton = createBaton({
  backend: productionBackend({
    redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    postgres: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    prefix: process.env.BATON_PREFIX ?? 'baton_example',
    schema: process.env.BATON_SCHEMA ?? 'baton_example',
  }),
  workerId: name,
  worker: { concurrency: 8, stallTimeoutMs: 10_000, shutdownDeadlineMs: 5_000 },
});

baton.register('monthly-report', async (input: ReportInput, ctx: TaskContext) => {
  const done = (ctx.checkpoint?.data as { pages: number } | undefined)?.pages ?? 0;
  for (let page = done + 1; page <= 3; page++) {
    await new Promise((r) => setTimeout(r, 30));
    await ctx.saveCheckpoint(`page-${page}`, { pages: page });
  }
  await ctx.reportUsage({ costUsd: 0.001, tokens: 120 });
  return { customer: input.customer, pages: 3, by: name };
});

await baton.start();
process.send?.({ ready: name });
process.on('SIGTERM', () => {
  void baton.close().then(() => process.exit(0));
});
