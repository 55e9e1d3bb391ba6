// Scenario 6: recovery. A child worker process takes N tasks, each saves a checkpoint and then
// holds; the child is SIGKILLed; a second worker (this process) starts at once, with the stall
// timeout set on both. Measured: kill → all N completed on the second worker.
import { now, withDeadline } from '../time.js';
import { spawnChild, type Child } from './child.js';
import { CompletionTracker, preEnqueue, withInstance } from './common.js';
import type { RunResult, Scenario } from './types.js';

export const RECOVERY: Scenario = {
  id: 6,
  title: 'Recovery after SIGKILL of a worker holding 50 checkpointed tasks',
  metrics: [
    { key: 'recovery', unit: 's', better: 'lower' },
    { key: 'resumed', unit: 'from checkpoint', better: 'higher', compare: false },
  ],
  runs: (c) => c.runs,
  warmup: false,
  timeoutMs: (c) => c.stallTimeoutMs + 60_000,
  run: (ctx) => {
    const { recoveryTasks: tasks, stallTimeoutMs } = ctx.config;
    return withInstance(ctx, { concurrency: tasks, stallTimeoutMs }, async (inst): Promise<RunResult> => {
      if (!(await preEnqueue(inst, tasks, tasks, ctx.deadline))) return { metrics: {}, timedOut: true };
      const held = new Set<number>();
      const started = new Set<number>();
      let child: Child | null = null;
      try {
        let allHeld: () => void = () => undefined;
        const holding = new Promise<void>((r) => (allHeld = r));
        child = spawnChild('recovery-child.ts', { system: ctx.system.id, ns: ctx.ns, tasks, stallTimeoutMs, lifetimeMs: 120_000 }, (msg) => {
          if (typeof msg.started === 'number') started.add(msg.started);
          if (typeof msg.held === 'number') held.add(msg.held);
          if (held.size >= tasks) allHeld();
        });
        const t0 = now();
        let exit: number | string | null | undefined;
        const ready = await withDeadline(
          Promise.race([holding.then(() => true), child.exited.then((code) => ((exit = code), false))]),
          45_000,
          'child taking all tasks',
        ).catch(() => false);
        if (!ready) {
          const err = child.stderr().split('\n').slice(-3).join(' | ');
          const how = exit === undefined ? 'was still running' : `exited (${exit})`;
          return {
            metrics: {},
            timedOut: true,
            notes: [`after ${((now() - t0) / 1000).toFixed(1)} s the child ${how}, having started ${started.size} and checkpointed ${held.size} of ${tasks} tasks${err ? `; stderr: ${err}` : ''}`],
          };
        }
        child.kill('SIGKILL');
        const killedAt = now();
        await withDeadline(child.exited, 5_000, 'child exit');
        const resumed = new Set<number>();
        const tracker = new CompletionTracker(tasks);
        await inst.startWorker(async (p, job) => {
          if (job.restored !== null && job.restored !== undefined) resumed.add(p.i);
        }, tracker.onCompleted);
        const ok = await tracker.wait(inst, ctx.deadline);
        const seconds = (now() - killedAt) / 1000;
        return {
          metrics: { recovery: seconds, resumed: resumed.size },
          timedOut: !ok,
          notes: ok ? [] : [`${tracker.ids.size}/${tasks} completed at the deadline`],
        };
      } finally {
        child?.kill('SIGKILL');
      }
    });
  },
};
