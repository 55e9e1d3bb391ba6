// One worker process of a chaos run: a Baton worker on the run's namespace, SIGKILLed by the
// parent at random. argv: <backend kind> <namespace> <journal dir>; env: CHAOS_ENDPOINTS (JSON),
// CHAOS_STALL_MS, CHAOS_CONCURRENCY. Everything it does goes to its journal (see journal.ts)
// synchronously, so the parent can audit the run from what survived each kill. Prints one
// "ready" line on stdout once it claims work; stops gracefully on SIGTERM.
import { randomUUID } from 'node:crypto';
import { createBaton, type LogFn, type Logger } from '@baton/core';
import { makeBackend, type Endpoints } from './backends.js';
import { BACKENDS, type BackendKind } from './config.js';
import { JournalWriter, journalFile, stamp } from './journal.js';
import { INITIAL_ACC, TASK_TYPE, nextAcc, stepDelayMs, type ChaosCheckpoint, type ChaosInput, type ChaosResult } from './workload.js';

const [kindArg, namespace, journalDir] = process.argv.slice(2);
if (kindArg === undefined || namespace === undefined || journalDir === undefined || !(BACKENDS as readonly string[]).includes(kindArg)) {
  throw new Error('usage: worker <backend kind> <namespace> <journal dir>');
}
const kind = kindArg as BackendKind;
const endpoints = JSON.parse(process.env.CHAOS_ENDPOINTS ?? '{}') as Endpoints;
const stallMs = Number(process.env.CHAOS_STALL_MS ?? 2_000);
const concurrency = Number(process.env.CHAOS_CONCURRENCY ?? 4);
const journal = new JournalWriter(journalFile(journalDir, process.pid));

/** Errors serialise to {} in JSON: keep their name and message. */
const plain = (v: unknown): unknown => (v instanceof Error ? `${v.name}: ${v.message}` : v);

/** Warnings and errors as JSON lines on stderr (the parent keeps them in the worker's log file). */
function stderrLogger(bindings: Record<string, unknown>): Logger {
  const level = (name: string, on: boolean): LogFn =>
    ((a: object | string, msg?: string) => {
      if (!on) return;
      const fields: Record<string, unknown> = typeof a === 'string' ? { msg: a } : { ...a, msg };
      const line = Object.fromEntries(Object.entries({ ...bindings, ...fields }).map(([k, v]) => [k, plain(v)]));
      process.stderr.write(`${JSON.stringify({ level: name, at: new Date().toISOString(), pid: process.pid, ...line })}\n`);
    }) as LogFn;
  return {
    trace: level('trace', false),
    debug: level('debug', false),
    info: level('info', false),
    warn: level('warn', true),
    error: level('error', true),
    fatal: level('fatal', true),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}

const baton = createBaton({
  backend: makeBackend(kind, namespace, endpoints, { stallMs }),
  logger: stderrLogger({}),
  worker: { concurrency, stallTimeoutMs: stallMs, heartbeatIntervalMs: Math.floor(stallMs / 5), pollIntervalMs: 100, shutdownDeadlineMs: 2_000 },
  // Every save is flushed anyway; no coalescing window to reason about.
  checkpoints: { intervalMs: 0 },
  // Only infrastructure makes this handler fail (a server restart, a cut connection): retry soon.
  // How many retries a task gets is fixed at enqueue (the parent sets maxRetries).
  retry: { baseMs: 250, maxMs: 4_000 },
  // The audit reads every task and event back at the end: retention must not remove them first.
  retention: { completed: { maxCount: 10_000_000 }, events: { maxCount: 100_000_000 } },
});

/** Sleeps, or rejects as soon as the run is aborted (lease lost, shutdown). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function validCheckpoint(token: string, data: unknown): data is ChaosCheckpoint {
  if (data === null || typeof data !== 'object') return false;
  const d = data as Partial<ChaosCheckpoint>;
  return typeof d.step === 'number' && Number.isInteger(d.step) && d.step >= 1 && typeof d.acc === 'string' && token === `step-${d.step}`;
}

// The run whose result this process handed to the engine last, per task: task.completed carries no run id.
const lastReturned = new Map<string, string>();

baton.register<ChaosInput, ChaosResult, ChaosCheckpoint>(TASK_TYPE, async (input, ctx) => {
  const run = randomUUID().slice(0, 12);
  let from = 0;
  let acc = INITIAL_ACC;
  const cp = ctx.checkpoint;
  if (cp !== null) {
    if (validCheckpoint(cp.token, cp.data) && cp.data.step <= input.steps) {
      from = cp.data.step;
      acc = cp.data.acc;
    } else {
      // Start over: the result is then still right, and the anomaly is counted by the parent.
      journal.write({ k: 'bad-ckpt', t: ctx.taskId, run, token: String(cp.token), at: stamp() });
    }
  }
  journal.write({ k: 'start', t: ctx.taskId, run, pid: process.pid, from, rec: ctx.recoveries, att: ctx.attempt, at: stamp() });
  try {
    for (let step = from + 1; step <= input.steps; step++) {
      await pause(stepDelayMs(input, step), ctx.signal);
      acc = nextAcc(acc, input.n, step);
      journal.write({ k: 'step', t: ctx.taskId, run, s: step, at: stamp() });
      await ctx.saveCheckpoint(`step-${step}`, { step, acc }, { flush: true });
      journal.write({ k: 'ckpt', t: ctx.taskId, run, s: step, at: stamp() });
    }
  } catch (err) {
    journal.write({ k: 'err', t: ctx.taskId, run, msg: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err), at: stamp() });
    throw err;
  }
  lastReturned.set(ctx.taskId, run);
  journal.write({ k: 'ret', t: ctx.taskId, run, at: stamp() });
  return { n: input.n, steps: input.steps, acc, run, pid: process.pid };
});

// Emitted only when the fenced completion write was applied (see Settler.write).
baton.on('task.completed', (e) => {
  if (e.taskId === null) return;
  journal.write({ k: 'stored', t: e.taskId, run: lastReturned.get(e.taskId) ?? null, at: stamp() });
  lastReturned.delete(e.taskId);
});

process.on('SIGTERM', () => {
  baton
    .close({ deadlineMs: 2_000 })
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    });
});

await baton.start();
journal.write({ k: 'ready', pid: process.pid, at: stamp() });
process.stdout.write('ready\n');
