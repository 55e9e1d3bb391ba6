// `npm run -w bench pg-costs [-- --n=10000]`: what each task costs the Postgres stores, per table.
// For the Postgres adapter and the production preset (Redis queue, Postgres stores), each on a
// fresh schema: N tasks enqueued in batches of 1,000, then processed by one worker (no-op
// handler, concurrency 50, as in scenario 3). After each phase the baton is closed — a server
// process reports its table statistics when its connection ends — and the schema's
// pg_stat_user_tables rows are read: rows inserted, updated, updated HOT (no index entry written)
// and deleted per task, per table; then each table's size with its indexes and TOAST. A non-HOT
// update writes an entry into every index of the table whose predicate the new row matches.
import { createBaton, mixBackend, silentLogger, type Backend } from '@baton/core';
import { postgresBackend } from '../../packages/adapter-postgres/src/index.js';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { enqueueBench, noOpCompletions } from './no-op-runs.js';
import { DATABASE_URL, deleteRedisKeys, newNamespace, REDIS_URL, withPg } from './services.js';

const nArg = process.argv.slice(2).find((a) => a.startsWith('--n='));
const N = nArg ? Number(nArg.slice(4)) : 10_000;
if (!Number.isInteger(N) || N < 1_000 || N > 1_000_000) throw new Error(`--n must be an integer from 1,000 to 1,000,000; got ${nArg}`);

interface TableStats {
  ins: number;
  upd: number;
  hot: number;
  del: number;
  bytes: number;
  indexes: number;
}

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

async function tableStats(schema: string): Promise<Map<string, TableStats>> {
  return withPg(async (c) => {
    // Statistics reach the shared view shortly after a server process exits.
    await new Promise((res) => setTimeout(res, 500));
    const { rows } = await c.query<{ relname: string; ins: string; upd: string; hot: string; del: string; bytes: string; indexes: string }>(
      `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del,
              pg_total_relation_size(relid) AS bytes, (SELECT count(*) FROM pg_index WHERE indrelid = relid) AS indexes
         FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    return new Map(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del), bytes: Number(r.bytes), indexes: Number(r.indexes) }]));
  });
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

for (const system of systems) {
  const ns = newNamespace();
  try {
    const enqueuer = createBaton({ backend: system.make(ns), logger: silentLogger });
    await enqueueBench(enqueuer, N);
    await enqueuer.close();
    const enqueued = await tableStats(ns);
    report(`${system.name}: enqueue ${N.toLocaleString('en-US')} in batches of 1,000`, new Map(), enqueued);

    const worker = createBaton({ backend: system.make(ns), logger: silentLogger, worker: { concurrency: 50 } });
    const all = noOpCompletions(worker, N);
    await worker.start();
    await all;
    await worker.close();
    report(`${system.name}: process them (concurrency 50)`, enqueued, await tableStats(ns));
  } finally {
    await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${ns}" CASCADE`));
    await deleteRedisKeys(`{${ns}}`);
  }
}
