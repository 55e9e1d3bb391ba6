// Baton quickstart: a three-step agent pipeline on the embedded SQLite backend. Worker 1 runs
// in a child process and is killed (SIGKILL) mid-pipeline; worker 2 reclaims the stalled tasks
// and resumes each from its last checkpoint. Everything lives in one file (./baton.db), so
// interrupting this program and running it again also resumes the unfinished work.
//
//   npm run quickstart                    # uses ./baton.db
//   npm run quickstart -- --db /tmp/x.db  # or BATON_DB=/tmp/x.db
//   npm run quickstart -- --fresh         # start over
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBaton, type Baton, type TaskRecord } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';
import { pipelineAgent, type StepEvent } from './pipeline-agent.js';

const TOPICS = ['solar', 'fusion', 'tidal'];
const STALL_TIMEOUT_MS = 3_000;

interface Args {
  db: string;
  fresh: boolean;
  worker: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { db: process.env.BATON_DB ?? './baton.db', fresh: false, worker: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--db') args.db = argv[++i] ?? args.db;
    else if (a === '--fresh') args.fresh = true;
    else if (a === '--worker') args.worker = argv[++i] ?? 'worker';
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run quickstart -- [--db FILE] [--fresh]\n');
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${a}; try --help\n`);
      process.exit(2);
    }
  }
  args.db = resolve(args.db);
  return args;
}

function open(db: string, worker: string, report: (e: StepEvent) => void): Baton {
  const baton = createBaton({
    backend: sqliteBackend({ file: db }),
    workerId: worker,
    worker: { concurrency: 3, stallTimeoutMs: STALL_TIMEOUT_MS, pollIntervalMs: 100 },
    // Fleet-wide limits of the queue, kept in the database: at most 3 pipelines at once, whatever
    // the number of workers.
    queues: { research: { concurrency: 3 } },
  });
  // Tasks of this type wait in the 'research' queue; a worker claims only from the queues of the
  // types it registered, so a fleet can split its work by queue.
  baton.register('research-pipeline', pipelineAgent(worker, report), { queue: 'research' });
  return baton;
}

/** Child process mode: run tasks and report each step to the parent over IPC. */
async function runWorker(args: Args): Promise<void> {
  const send = (e: unknown) => process.send?.(e);
  const baton = open(args.db, args.worker!, send);
  baton.on('task.checkpointed', (e) => send({ kind: 'checkpoint', taskId: e.taskId, token: e.data.token }));
  await baton.start();
  process.on('SIGTERM', () => void baton.close().then(() => process.exit(0)));
}

const line = (s = '') => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) return runWorker(args);
  if (args.fresh) for (const suffix of ['', '-wal', '-shm']) rmSync(args.db + suffix, { force: true });
  const resuming = existsSync(args.db);

  line(`Baton quickstart — embedded SQLite at ${args.db}${resuming ? ' (existing file: unfinished work resumes)' : ''}`);
  const steps: StepEvent[] = [];
  const onStep = (e: StepEvent) => {
    steps.push(e);
    line(`  ${e.worker.padEnd(8)} ${e.topic.padEnd(7)} ${e.step}${e.resumedFrom ? `   (resumed from checkpoint "${e.resumedFrom}")` : ''}`);
  };
  const producer = open(args.db, 'producer', onStep);
  // Higher priority runs first within the queue: the first topic is the urgent one.
  const enqueued = await producer.enqueueMany(TOPICS.map((topic, i) => ({ type: 'research-pipeline', input: { topic }, priority: i === 0 ? 10 : 0 })));
  const before = await Promise.all(enqueued.map((e) => producer.getTask(e.taskId)));
  if (before.every((t) => t?.state === 'completed')) {
    line('All three pipelines already completed in this file. Run with --fresh to start over.');
    printSummary(before as TaskRecord[], steps);
    await producer.close();
    return;
  }
  line(
    `Enqueued ${enqueued.filter((e) => !e.duplicate).length} new pipeline(s) in queue "research" (${TOPICS[0]} at priority 10); ${enqueued.filter((e) => e.duplicate).length} already known (idempotent keys).`,
  );

  line('\nWorker 1 starts in a child process; it will be killed with SIGKILL after its first "analyse" checkpoint.');
  const child = startChild(args.db, 'worker-1', onStep);
  await new Promise<void>((resolveKill) => {
    child.on('message', (m: { kind: string; token?: string }) => {
      if (m.kind === 'checkpoint' && m.token === 'analyse-complete') {
        child.kill('SIGKILL');
        resolveKill();
      }
    });
    child.on('exit', () => resolveKill());
  });
  line(`  worker-1 killed (SIGKILL): its leases stay until the ${STALL_TIMEOUT_MS / 1000} s stall timeout.`);

  line('\nWorker 2 starts here; it reclaims the stalled tasks and resumes each from its checkpoint.');
  const worker2 = open(args.db, 'worker-2', onStep);
  worker2.on('task.recovered', (e) => line(`  worker-2 reclaimed task ${e.taskId?.slice(0, 8)} (holder stopped heartbeating)`));
  await worker2.start();
  const done = await Promise.all(enqueued.map((e) => worker2.waitFor(e.taskId, { timeoutMs: 60_000 })));
  printSummary(done, steps);
  await worker2.close();
  await producer.close();
}

function startChild(db: string, name: string, onStep: (e: StepEvent) => void): ChildProcess {
  const child = fork(fileURLToPath(import.meta.url), ['--db', db, '--worker', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m: StepEvent | { kind: string }) => {
    if (m.kind === 'step') onStep(m as StepEvent);
  });
  return child;
}

function printSummary(tasks: TaskRecord[], steps: StepEvent[]): void {
  line('\nSummary');
  line('  topic    state      recoveries  steps run (worker)');
  for (const t of tasks) {
    const topic = (t.input as { topic: string }).topic;
    const ran = steps.filter((s) => s.topic === topic).map((s) => `${s.step}(${s.worker.replace('worker-', 'w')})`);
    line(`  ${topic.padEnd(8)} ${t.state.padEnd(10)} ${String(t.recoveries).padEnd(11)} ${ran.join(' → ') || '(earlier run)'}`);
  }
  const redone = TOPICS.filter((topic) => {
    const names = steps.filter((s) => s.topic === topic).map((s) => s.step);
    return new Set(names).size !== names.length;
  });
  line(
    redone.length === 0
      ? '\nNo step ran twice: every resumed pipeline continued from its last checkpoint.'
      : `\nSteps repeated for ${redone.join(', ')} (a step interrupted before its checkpoint runs again: at-least-once).`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
