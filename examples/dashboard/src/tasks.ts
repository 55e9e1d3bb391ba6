// The demo's task types: long research tasks that checkpoint every step (so a SIGKILL mid-task
// costs one step), a summary, e-mails, and a flaky webhook that sometimes ends up dead — something
// to retry from the dashboard.
import { PermanentError, type Baton } from '@baton/core';

export interface WorkerEvent {
  kind: 'resumed';
  taskId: string;
  token: string;
}

const STEP_MS = Number(process.env.DEMO_STEP_MS ?? 700);
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    });
  });

export function registerTasks(baton: Baton, report: (e: WorkerEvent) => void): void {
  baton.register<{ topic: string; steps: number }, { topic: string; sources: number }, { step: number; notes: string[] }>('research', async (input, ctx) => {
    if (ctx.checkpoint) report({ kind: 'resumed', taskId: ctx.taskId, token: ctx.checkpoint.token });
    const notes = ctx.checkpoint?.data.notes ?? [];
    for (let step = (ctx.checkpoint?.data.step ?? 0) + 1; step <= input.steps; step++) {
      await sleep(STEP_MS, ctx.signal);
      notes.push(`${input.topic}: source ${step}`);
      await ctx.reportUsage({ costUsd: 0.0125, tokens: 900 + step * 10 });
      await ctx.saveCheckpoint(`step-${step}`, { step, notes }, { flush: true });
      await ctx.reportProgress({ done: step, total: input.steps });
    }
    return { topic: input.topic, sources: notes.length };
  });

  baton.register<{ topics: string[] }, { summary: string }>('summarise', async (input, ctx) => {
    await sleep(STEP_MS * 2, ctx.signal);
    await ctx.reportUsage({ costUsd: 0.05, tokens: 4_000 });
    return { summary: `${input.topics.length} topics covered` };
  });

  baton.register<{ to: string; subject: string }, { sent: true }>(
    'send-email',
    async (_input, ctx) => {
      await sleep(STEP_MS / 2, ctx.signal);
      return { sent: true };
    },
    { queue: 'email' },
  );

  baton.register<{ url: string }, { status: number }>(
    'flaky-webhook',
    async (input, ctx) => {
      await sleep(STEP_MS / 2, ctx.signal);
      if (Math.random() < 0.5) throw new PermanentError(`POST ${input.url} answered 410 Gone`);
      if (Math.random() < 0.5) throw new Error(`POST ${input.url} timed out`);
      return { status: 204 };
    },
    { queue: 'webhooks', retry: { maxRetries: 2, baseMs: 500 } },
  );
}
