// Baton dashboard demo on SQLite: a producer schedules research runs (phases with a budget split
// across their tasks) and single tasks, two worker processes run them with checkpoints, progress
// and usage, and every so often one worker is SIGKILLed mid-task and replaced — its tasks are
// recovered after the stall timeout and resume from their checkpoints. The dashboard, with
// actions on, serves it all on http://127.0.0.1:<port>.
//
//   npm run -w @baton-examples/dashboard start                 # port 4600, ./dashboard-demo.db, started fresh
//   npm run -w @baton-examples/dashboard start -- --port 0     # any free port
//   npm run -w @baton-examples/dashboard start -- --keep       # keep the database of the last run
//   npm run -w @baton-examples/dashboard start -- --once       # stop after the first crash is recovered (tests)
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBaton, silentLogger, type Baton } from '@baton/core';
import { createDashboard, toNodeHandler } from '@baton/dashboard';
import { sqliteBackend } from '@baton/sqlite';
import { registerTasks } from './tasks.js';

const STALL_TIMEOUT_MS = 3_000;

interface Args {
  port: number;
  db: string;
  keep: boolean;
  once: boolean;
  worker: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { port: Number(process.env.PORT ?? 4600), db: process.env.BATON_DB ?? './dashboard-demo.db', keep: false, once: false, worker: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') args.port = Number(argv[++i]);
    else if (a === '--db') args.db = argv[++i] ?? args.db;
    else if (a === '--keep') args.keep = true;
    else if (a === '--once') args.once = true;
    else if (a === '--worker') args.worker = argv[++i] ?? 'worker';
    else {
      process.stdout.write('usage: npm run -w @baton-examples/dashboard start -- [--port N] [--db FILE] [--keep] [--once]\n');
      process.exit(a === '--help' || a === '-h' ? 0 : 2);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65_535) throw new Error(`--port must be 0–65535; got ${args.port}`);
  args.db = resolve(args.db);
  return args;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Resolves once `check` holds, or after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !(await check())) await new Promise((r) => setTimeout(r, 200));
}

/** Worker mode (a child process): runs tasks until SIGTERM, or until the parent SIGKILLs it. */
async function runWorker(args: Args): Promise<void> {
  const baton = createBaton({
    backend: sqliteBackend({ file: args.db }),
    workerId: args.worker!,
    logger: silentLogger,
    worker: { concurrency: 4, stallTimeoutMs: STALL_TIMEOUT_MS, heartbeatIntervalMs: 500, pollIntervalMs: 100 },
    checkpoints: { intervalMs: 0 },
  });
  registerTasks(baton, (e) => process.send?.(e));
  process.on('SIGTERM', () => {
    void baton.close({ deadlineMs: 2_000 }).then(() => process.exit(0));
  });
  await baton.start();
  process.send?.({ kind: 'ready' });
}

function spawnWorker(name: string, args: Args): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  return fork(self, ['--worker', name, '--db', args.db], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
}

async function produce(baton: Baton, round: number): Promise<void> {
  const runId = `research-${String(round).padStart(3, '0')}`;
  const topics = ['solar', 'fusion', 'tidal', 'geothermal', 'wind', 'hydro'];
  await baton.scheduler.schedule(
    { phaseId: `${runId}/gather`, tasks: topics.map((topic) => ({ type: 'research', input: { topic, steps: 8 } })), budget: { costUsd: 0.6, tokens: 48_000 } },
    { runId },
  );
  await baton.scheduler.schedule({ phaseId: `${runId}/summarise`, tasks: [{ type: 'summarise', input: { topics } }], budget: { costUsd: 0.2, tokens: 10_000 } }, { runId });
  await baton.enqueue('send-email', { to: `team-${round % 3}@example.com`, subject: `Digest ${runId}` }, { queue: 'email' });
  if (round % 2 === 0) await baton.enqueue('flaky-webhook', { url: `https://hooks.example.com/${round}` }, { queue: 'webhooks' });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) return runWorker(args);
  if (!args.keep) for (const suffix of ['', '-wal', '-shm']) if (existsSync(args.db + suffix)) rmSync(args.db + suffix);

  // The producer and the dashboard share one Baton that runs no workers.
  const baton = createBaton({ backend: sqliteBackend({ file: args.db }), logger: silentLogger, workerId: 'producer', worker: { stallTimeoutMs: STALL_TIMEOUT_MS } });
  await baton.start({ worker: false, timers: false, supervisor: false });
  const dashboard = createDashboard({
    baton,
    actions: true,
    // The server listens on 127.0.0.1 only; checking the Host header as well keeps a web page on
    // another site from reaching it through DNS rebinding. A real deployment checks its own session here.
    authorize: (request) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(request.url).hostname),
  });
  const server = createServer(toNodeHandler(dashboard));
  await new Promise<void>((ok) => server.listen(args.port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  say(`Baton dashboard demo — SQLite at ${args.db}`);
  say(`dashboard: ${url}`);

  let n = 0;
  let resumes = 0;
  const workers = new Map<string, ChildProcess>();
  const start = (): string => {
    const name = `worker-${String.fromCharCode(65 + (n++ % 26))}${n > 26 ? Math.floor((n - 1) / 26) : ''}`;
    const child = spawnWorker(name, args);
    child.on('message', (m: { kind: string; taskId?: string; token?: string }) => {
      if (m.kind !== 'resumed') return;
      resumes++;
      say(`${name}: resumed ${m.taskId} from checkpoint "${m.token}"`);
    });
    workers.set(name, child);
    return name;
  };
  start();
  start();

  let round = 0;
  const producer = setInterval(() => void produce(baton, ++round).catch((err: unknown) => say(`producer: ${String(err)}`)), 4_000);
  await produce(baton, ++round);

  // A crash every 15 s: SIGKILL a worker in the middle of its tasks, start a fresh one.
  let crashes = 0;
  const crash = async () => {
    const [name, child] = [...workers][0]!;
    workers.delete(name);
    child.kill('SIGKILL');
    crashes++;
    const next = start();
    say(`${name}: killed (SIGKILL) mid-task — its tasks resume on the others after ${STALL_TIMEOUT_MS / 1000} s; started ${next}`);
    if (args.once) {
      // Until another worker has said so: the resume is printed from its message, not the event log.
      await until(() => resumes > 0, 60_000);
      await shutdown(0);
    }
  };
  // --once kills the first worker as soon as it is mid-task with a checkpoint saved (however slowly
  // it started), so there is always something to resume.
  const victim = [...workers.keys()][0]!;
  const crasher = args.once
    ? setTimeout(() => {
        void until(async () => (await baton.queryEvents({ type: 'task.checkpointed', limit: 1000 })).some((e) => e.workerId === victim), 60_000).then(crash);
      }, 0)
    : setInterval(() => void crash(), 15_000);

  const shutdown = async (code: number) => {
    clearInterval(producer);
    clearTimeout(crasher);
    clearInterval(crasher);
    for (const child of workers.values()) child.kill('SIGTERM');
    await Promise.all([...workers.values()].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    server.closeAllConnections();
    server.close();
    await baton.close();
    say(`stopped after ${crashes} crash${crashes === 1 ? '' : 'es'}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
