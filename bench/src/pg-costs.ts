// `npm run -w bench pg-costs [-- --n=10000]`: what each task costs the Postgres stores, per table.
// For the Postgres adapter and the production preset (Redis queue, Postgres stores), each on a
// fresh schema: N tasks enqueued in batches of 1,000, then processed by one worker (no-op
// handler, concurrency 50, as in scenario 3). After each phase the baton is closed — a server
// process reports its table statistics when its connection ends — and the schema's
// pg_stat_user_tables rows are read: rows inserted, updated, updated HOT (no index entry written)
// and deleted per task, per table; then each table's size with its indexes and TOAST. A non-HOT
// update writes an entry into every index of the table whose predicate the new row matches.
// Also per phase: the Postgres server's CPU per task (every server process, exited backends
// included: /proc, so the server must run on this machine) and, where the server preloads
// pg_stat_statements, the statements that took the most execution time.
import { createBaton, mixBackend, silentLogger, type Backend } from '@baton/core';
import { postgresBackend } from '../../packages/adapter-postgres/src/index.js';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { intArg } from './int-arg.js';
import { enqueueBench, noOpCompletions } from './no-op-runs.js';
import { serverCpuUs, tableStats, type TableStats } from './pg-server.js';
import { DATABASE_URL, deleteRedisKeys, newNamespace, REDIS_URL, withPg } from './services.js';

const N = intArg('n', 10_000, 1_000, 1_000_000);

const systems: { name: string; make: (ns: string) => Backend }[] = [
  { name: 'postgres', make: (ns) => postgresBackend(DATABASE_URL, { schema: ns }) },
  {
    name: 'production',
    make: (ns) => {
      const r = redisBackend(REDIS_URL, { prefix: ns });
      const p = postgresBackend(DATABASE_URL, { schema: ns });
      return mixBackend({ name: 'production', queue: r.queue, heartbeats: r.heartbeats, tasks: p.tasks, checkpoints: p.checkpoints, timers: p.timers, events: p.events, coordination: p.coordination, sources: [r, p] });
    },
  },
];

/** Whether the server preloads pg_stat_statements (its view then answers); creates the extension in the database if needed. */
async function statementsReady(): Promise<boolean> {
  return withPg(async (c) => {
    const loaded = (await c.query<{ s: string }>(`SELECT current_setting('shared_preload_libraries') AS s`)).rows[0]!.s;
    if (!/\bpg_stat_statements\b/.test(loaded)) return false;
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    return true;
  });
}

async function resetStatements(): Promise<void> {
  await withPg((c) => c.query('SELECT pg_stat_statements_reset()'));
}

async function reportStatements(schema: string): Promise<void> {
  const { rows } = await withPg((c) =>
    c.query<{ query: string; calls: string; ms: string; rows: string }>(
      `SELECT query, calls, total_exec_time AS ms, rows FROM pg_stat_statements
        WHERE query LIKE '%' || $1 || '%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT 8`,
      [schema],
    ),
  );
  console.log(`\n| statement (top by execution time) | calls per 1,000 tasks | rows per call | µs per task |\n|---|---:|---:|---:|`);
  for (const r of rows) {
    const q = r.query.replace(/\s+/g, ' ').replaceAll(`"${schema}".`, '').slice(0, 90).replaceAll('|', '\\|');
    console.log(`| \`${q}\` | ${((Number(r.calls) / N) * 1000).toFixed(1)} | ${(Number(r.rows) / Math.max(1, Number(r.calls))).toFixed(1)} | ${((Number(r.ms) * 1000) / N).toFixed(1)} |`);
  }
}

async function timed<T>(label: string, body: () => Promise<T>): Promise<void> {
  const s0 = await serverCpuUs();
  const t0 = performance.now();
  await body();
  const seconds = (performance.now() - t0) / 1_000;
  const s1 = await serverCpuUs();
  const cpu = s0 === null || s1 === null ? 'n/a (the server does not run on this machine)' : `${((s1 - s0) / N).toFixed(1)} µs per task`;
  console.log(`\n${label}: ${Math.round(N / seconds).toLocaleString('en-US')} tasks/s; Postgres server CPU ${cpu}`);
}

function report(label: string, before: Map<string, TableStats>, after: Map<string, TableStats>): void {
  const f = (x: number) => (x / N).toFixed(2);
  console.log(`\n${label} (per task)\n| table (indexes) | inserted | updated | of which HOT | deleted | size after (bytes per task) |\n|---|---:|---:|---:|---:|---:|`);
  for (const [table, a] of [...after.entries()].sort((x, y) => y[1].ins + y[1].upd - (x[1].ins + x[1].upd))) {
    const b = before.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0, bytes: 0, indexes: 0 };
    const d = { ins: a.ins - b.ins, upd: a.upd - b.upd, hot: a.hot - b.hot, del: a.del - b.del };
    if (d.ins + d.upd + d.del === 0) continue;
    console.log(`| ${table} (${a.indexes}) | ${f(d.ins)} | ${f(d.upd)} | ${f(d.hot)} | ${f(d.del)} | ${Math.round(a.bytes / N)} |`);
  }
}

const statements = await statementsReady();
if (!statements) console.log('(pg_stat_statements is not in shared_preload_libraries: statement times are left out)');

for (const system of systems) {
  const ns = newNamespace();
  try {
    const enqueuer = createBaton({ backend: system.make(ns), logger: silentLogger });
    // Connects and migrates before the timed phase.
    await enqueuer.getTask('warm-up');
    if (statements) await resetStatements();
    await timed(`${system.name}: enqueue`, () => enqueueBench(enqueuer, N));
    await enqueuer.close();
    if (statements) await reportStatements(ns);
    const enqueued = await tableStats(ns);
    report(`${system.name}: enqueue ${N.toLocaleString('en-US')} in batches of 1,000`, new Map(), enqueued);

    const worker = createBaton({ backend: system.make(ns), logger: silentLogger, worker: { concurrency: 50 } });
    const all = noOpCompletions(worker, N);
    if (statements) await resetStatements();
    await timed(`${system.name}: process`, async () => {
      await worker.start();
      await all;
    });
    await worker.close();
    if (statements) await reportStatements(ns);
    report(`${system.name}: process them (concurrency 50)`, enqueued, await tableStats(ns));
  } finally {
    await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${ns}" CASCADE`));
    await deleteRedisKeys(`{${ns}}`);
  }
}
