// How fast the dashboard's API answers with a large store: seeds N tasks (default 100,000) through
// the public API — most pending, some run to completion or death by real workers, some cancelled,
// a fifth in phased runs — then times every API call the pages make, in-process through the
// fetch handler (no HTTP), several times each. Prints a Markdown table; the slowest call is last.
//
//   npm run -w @baton/dashboard perf -- --backend sqlite [--tasks 100000] [--runs 5]
//   npm run -w @baton/dashboard perf -- --backend postgres [--url postgres://postgres@127.0.0.1:5432/test]
/* eslint-disable no-console -- a command-line tool: its output is the report */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError, createBaton, silentLogger, type Backend, type TaskSpec } from '@baton/core';
import { createDashboard } from '../src/index.js';

interface Args {
  backend: string;
  tasks: number;
  runs: number;
  url: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { backend: 'sqlite', tasks: 100_000, runs: 5, url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--backend' && v) args.backend = v;
    else if (k === '--tasks' && v) args.tasks = Number(v);
    else if (k === '--runs' && v) args.runs = Number(v);
    else if (k === '--url' && v) args.url = v;
    else throw new Error(`unknown argument ${k}; usage: perf -- --backend sqlite|postgres|memory [--tasks N] [--runs N] [--url URL]`);
    i++;
  }
  return args;
}

async function makeBackend(args: Args): Promise<{ backend: () => Promise<Backend>; cleanup: () => Promise<void>; where: string }> {
  if (args.backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'baton-dash-perf-'));
    const file = join(dir, 'perf.db');
    const { sqliteBackend } = await importAdapter<{ sqliteBackend: (source: { file: string }) => Backend }>('@baton/sqlite');
    return { backend: async () => sqliteBackend({ file }), cleanup: async () => rmSync(dir, { recursive: true, force: true }), where: file };
  }
  if (args.backend === 'postgres') {
    const schema = `dash_perf_${process.pid}`;
    const { postgresBackend } = await importAdapter<{ postgresBackend: (url: string, options: { schema: string; poolSize: number }) => Backend }>('@baton/postgres');
    const pg = await import('pg');
    return {
      backend: async () => postgresBackend(args.url, { schema, poolSize: 8 }),
      cleanup: async () => {
        const client = new pg.default.Client({ connectionString: args.url });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      },
      where: `${new URL(args.url).host} schema ${schema}`,
    };
  }
  if (args.backend === 'memory') {
    const { memoryBackend } = await import('@baton/memory');
    const shared = memoryBackend();
    return { backend: async () => shared, cleanup: async () => undefined, where: 'in process' };
  }
  throw new Error(`unknown backend ${args.backend}`);
}

/** By a name in a variable, so this script's type check does not depend on an adapter still being ported. */
async function importAdapter<T>(name: string): Promise<T> {
  return (await import(name)) as T;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { backend, cleanup, where } = await makeBackend(args);
  console.log(`# dashboard API timings: ${args.backend} (${where}), ${args.tasks.toLocaleString('en-US')} tasks`);
  try {
    const producer = createBaton({ backend: await backend(), logger: silentLogger, workerId: 'perf-producer' });
    await producer.start({ worker: false, timers: false, supervisor: false });

    // Seed: a fifth in 5 runs × 4 phases, the rest spread over three queues and two types.
    let t0 = process.hrtime.bigint();
    const phased = Math.floor(args.tasks / 5);
    for (let i = 0; i < args.tasks; i += 1_000) {
      const specs: TaskSpec[] = [];
      for (let j = i; j < Math.min(args.tasks, i + 1_000); j++) {
        const inPhase = j < phased;
        specs.push({
          type: j % 5 === 0 ? 'render' : 'ingest',
          input: { n: j, note: 'x'.repeat(64) },
          queue: ['default', 'pdf', 'email'][j % 3]!,
          ...(inPhase ? { runId: `run-${j % 5}`, phaseId: `run-${j % 5}/phase-${Math.floor(j / 5) % 4}`, budget: { costUsd: 0.01, tokens: 500 } } : {}),
        });
      }
      await producer.enqueueMany(specs);
    }
    console.log(`seeded ${args.tasks.toLocaleString('en-US')} tasks in ${(ms(t0) / 1000).toFixed(1)} s`);

    // Run a tenth through real workers (a twentieth of those fail for good), cancel a twentieth.
    t0 = process.hrtime.bigint();
    const toRun = Math.floor(args.tasks / 10);
    const worker = createBaton({ backend: await backend(), logger: silentLogger, workerId: 'perf-worker', worker: { concurrency: 32, pollIntervalMs: 20, queues: ['pdf'] } });
    let ran = 0;
    const handler = (input: { n: number }) => {
      ran++;
      if (input.n % 20 === 0) throw new PermanentError(`record ${input.n} rejected`);
      return { ok: input.n };
    };
    worker.register<{ n: number }, { ok: number }>('ingest', handler).register<{ n: number }, { ok: number }>('render', handler);
    await worker.start();
    while (ran < toRun) await new Promise((r) => setTimeout(r, 100));
    await worker.stop();
    // The memory backend is one object shared by both batons: closing it would end the producer's too.
    if (args.backend !== 'memory') await worker.backend.close();
    const cancelled = await producer.admin.cancelMany({ queue: 'email' }, { limit: Math.floor(args.tasks / 20) });
    console.log(`ran ${ran.toLocaleString('en-US')} and cancelled ${cancelled.toLocaleString('en-US')} in ${(ms(t0) / 1000).toFixed(1)} s`);

    const dashboard = createDashboard({ baton: producer, actions: true, authorize: () => true });
    const session = (await (await dashboard.fetch(new Request('http://perf.local/api/session'))).json()) as { csrfToken: string };
    const sample = ((await (await dashboard.fetch(new Request('http://perf.local/api/tasks?state=dead&limit=1'))).json()) as { tasks: { id: string }[] }).tasks[0]!.id;
    // The 20th page of pending tasks: a deep cursor.
    let cursor = '';
    for (let p = 0; p < 19; p++) cursor = ((await (await dashboard.fetch(new Request(`http://perf.local/api/tasks?state=pending&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`))).json()) as { cursor: string }).cursor;

    const calls: [string, () => Request][] = [
      ['overview (first: reads the last hour of the event log)', () => new Request('http://perf.local/api/overview')],
      ['overview', () => new Request('http://perf.local/api/overview')],
      ['tasks, first page (50)', () => new Request('http://perf.local/api/tasks?limit=50')],
      ['counts of all tasks (admin.stats by queue)', () => new Request('http://perf.local/api/counts')],
      ['counts of a type (admin.stats by type)', () => new Request('http://perf.local/api/counts?type=render')],
      ['tasks, state=pending, 20th page', () => new Request(`http://perf.local/api/tasks?state=pending&limit=50&cursor=${encodeURIComponent(cursor)}`)],
      ['tasks, queue=pdf&state=dead', () => new Request('http://perf.local/api/tasks?queue=pdf&state=dead&limit=50')],
      ['tasks, type=render', () => new Request('http://perf.local/api/tasks?type=render&limit=50')],
      ['tasks, search by id', () => new Request(`http://perf.local/api/tasks?q=${sample}`)],
      ['task detail (checkpoint + events)', () => new Request(`http://perf.local/api/tasks/${sample}`)],
      ['phases (stats by phase)', () => new Request('http://perf.local/api/phases')],
      ['phases of one run (reads its tasks, ≤10,000)', () => new Request('http://perf.local/api/phases?runId=run-1')],
      ['phase detail (reads its tasks, ≤10,000)', () => new Request(`http://perf.local/api/phases/${encodeURIComponent('run-1/phase-1')}`)],
      ['timers', () => new Request('http://perf.local/api/timers')],
      [
        'purge dry run (counts completed)',
        () =>
          new Request('http://perf.local/api/purge', {
            method: 'POST',
            headers: { origin: 'http://perf.local', 'content-type': 'application/json', 'x-baton-csrf': session.csrfToken },
            body: JSON.stringify({ filter: { state: 'completed' }, dryRun: true }),
          }),
      ],
    ];
    const rows: { name: string; times: number[] }[] = [];
    for (const [name, make] of calls) {
      const runs = name.startsWith('overview (first') ? 1 : args.runs;
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        // Past the dashboard's short read cache (1 s; queue settings 5 s), so every run reads the store.
        await new Promise((r) => setTimeout(r, name.startsWith('overview') ? 5_100 : 1_100));
        const t = process.hrtime.bigint();
        const res = await dashboard.fetch(make());
        await res.arrayBuffer();
        times.push(ms(t));
        if (res.status !== 200) throw new Error(`${name}: ${res.status}`);
      }
      rows.push({ name, times: times.sort((a, b) => a - b) });
    }
    console.log(`\n| API call (${args.runs} runs) | median ms | max ms |\n|---|---:|---:|`);
    for (const r of rows) console.log(`| ${r.name} | ${r.times[Math.floor(r.times.length / 2)]!.toFixed(1)} | ${r.times[r.times.length - 1]!.toFixed(1)} |`);
    const slowest = rows.reduce((a, b) => (b.times[b.times.length - 1]! > a.times[a.times.length - 1]! ? b : a));
    console.log(`\nslowest: ${slowest.name}, ${slowest.times[slowest.times.length - 1]!.toFixed(1)} ms`);
    await producer.close();
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
