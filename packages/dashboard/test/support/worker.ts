// A worker process for the recovery test: a Baton on the backend named by argv (kind, location)
// with the id argv[4], reporting on stdout as JSON lines. Task 'steps' saves a flushed checkpoint
// per step; on a run that did not resume it stops at input.hangAt and never finishes, so the
// parent can SIGKILL this process mid-task.
import { createBaton, stderrLogger, type JsonValue } from '@baton/core';
import { makeBackend } from './process-backends.js';

const [kind, location, workerId] = process.argv.slice(2);
if (kind === undefined || location === undefined || workerId === undefined) throw new Error('usage: worker.ts <kind> <location> <workerId>');
const say = (msg: Record<string, JsonValue>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...msg })}\n`);
const stallTimeoutMs = 1_500;

const baton = createBaton({
  backend: await makeBackend(kind, location),
  workerId,
  logger: stderrLogger('error'),
  worker: { concurrency: 2, stallTimeoutMs, heartbeatIntervalMs: 300, pollIntervalMs: 100, shutdownDeadlineMs: 2_000 },
  checkpoints: { intervalMs: 0 },
});

baton.register<{ steps: number; hangAt?: number }, JsonValue, { step: number; notes: string[] }>('steps', async (input, ctx) => {
  const resumedFrom = ctx.checkpoint?.token ?? null;
  const notes = ctx.checkpoint?.data.notes ?? [];
  for (let step = (ctx.checkpoint?.data.step ?? 0) + 1; step <= input.steps; step++) {
    notes.push(`step ${step} by ${workerId}`);
    await ctx.saveCheckpoint(`step-${step}`, { step, notes }, { flush: true });
    await ctx.reportUsage({ costUsd: 0.01, tokens: 250 });
    await ctx.reportProgress({ done: step, total: input.steps });
    if (input.hangAt === step && resumedFrom === null) {
      say({ event: 'hanging', taskId: ctx.taskId, step });
      await new Promise(() => undefined);
    }
  }
  return { notes, resumedFrom };
});

// The hanging handler awaits a promise that never settles; this keeps the process alive meanwhile.
const keepAlive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void baton.close({ deadlineMs: 2_000 }).then(() => process.exit(0));
});
await baton.start();
say({ event: 'ready' });
