// `npm run -w bench pg-peers [-- --n=20000 --rounds=3 --only=postgres,production,graphile-worker,pg-boss]`:
// what a job costs the Postgres server, for Baton and its Postgres peers in the same run. Each
// system, on a fresh schema, enqueues N jobs in batches of 1,000 and then processes them with one
// worker (no-op handler, concurrency 50: scenario 3's shape, through the same bench instances and
// settings as `npm run bench`). Per phase: jobs/s, the server's CPU per job (every server process,
// from /proc: the server must run on this machine), the WAL it wrote per job, and the table rows
// inserted, updated (HOT or not) and deleted per job in the system's schema. The instance is
// closed after each phase so every server process has reported its table statistics; jobs/s
// stop at the last batch or completion, the CPU and WAL figures include the close. Rounds
// alternate the order of the systems; medians are printed last. Nothing else should use the
// server meanwhile: the CPU and WAL figures are the whole server's.
import { intArg } from './int-arg.js';
import { serverCpuUs, tableStats, walBytes } from './pg-server.js';
import { CompletionTracker, preEnqueue } from './scenarios/common.js';
import { newNamespace } from './services.js';
import { systemById } from './systems/index.js';
import type { System } from './systems/types.js';
import { now } from './time.js';

const N = intArg('n', 20_000, 1_000, 1_000_000);
const ROUNDS = intArg('rounds', 3, 1, 20);
const CONCURRENCY = 50;
const onlyArg = process.argv.slice(2).find((a) => a.startsWith('--only='))?.slice(7);
const systems: System[] = (onlyArg ?? 'postgres,production,graphile-worker,pg-boss').split(',').map((id) => {
  const s = systemById(id);
  if (s.family !== 'postgres' && s.family !== 'production') throw new Error(`--only: ${id} does not keep its jobs in Postgres; pick from postgres, production, graphile-worker, pg-boss, bullmq-postgres.`);
  return s;
});

interface Phase {
  jobsPerSecond: number;
  cpuUs: number | null;
  walBytes: number;
  inserted: number;
  updated: number;
  hot: number;
  deleted: number;
}

type Sample = { enqueue: Phase; process: Phase };

/** `body` does the work and then closes the instance; it returns when the work was done (jobs/s leave the close out, CPU and WAL do not). */
async function measured(schema: string, body: () => Promise<number>): Promise<Phase> {
  const before = await tableStats(schema);
  const cpu0 = await serverCpuUs();
  const wal0 = await walBytes();
  const t0 = now();
  const done = await body();
  const seconds = (done - t0) / 1_000;
  const wal1 = await walBytes();
  const cpu1 = await serverCpuUs();
  const after = await tableStats(schema);
  const sum = (m: typeof after, k: 'ins' | 'upd' | 'hot' | 'del') => [...m.values()].reduce((a, t) => a + t[k], 0);
  const d = (k: 'ins' | 'upd' | 'hot' | 'del') => (sum(after, k) - sum(before, k)) / N;
  return {
    jobsPerSecond: N / seconds,
    cpuUs: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / N,
    walBytes: (wal1 - wal0) / N,
    inserted: d('ins'),
    updated: d('upd'),
    hot: d('hot'),
    deleted: d('del'),
  };
}

async function once(system: System): Promise<Sample> {
  const ns = newNamespace();
  const deadline = now() + 600_000;
  try {
    // Opening migrates; the instance is closed after each phase (its server processes then report their statistics).
    let inst = await system.open(ns, { concurrency: CONCURRENCY });
    let ok = true;
    const enqueue = await measured(ns, async () => {
      ok = await preEnqueue(inst, N, 1_000, deadline);
      const done = now();
      await inst.close();
      return done;
    });
    if (!ok) throw new Error(`${system.id}: enqueueing ${N} jobs did not finish in 10 minutes`);
    inst = await system.open(ns, { concurrency: CONCURRENCY });
    const tracker = new CompletionTracker(N);
    const processed = await measured(ns, async () => {
      await inst.startWorker(async () => undefined, tracker.onCompleted);
      ok = await tracker.wait(inst, deadline);
      const done = now();
      await inst.close();
      return done;
    });
    if (!ok) throw new Error(`${system.id}: ${tracker.ids.size} of ${N} jobs completed in 10 minutes`);
    return { enqueue, process: processed };
  } finally {
    await system.destroy(ns);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

for (const s of systems) {
  const why = await s.probe();
  if (why !== null) throw new Error(`${s.label}: ${why}`);
}
console.log(`${fmt(N)} jobs per system and round, ${ROUNDS} round(s), worker concurrency ${CONCURRENCY}; per job:`);
const samples = new Map<string, Sample[]>(systems.map((s) => [s.id, []]));
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? systems : [...systems].reverse();
  for (const s of order) {
    const sample = await once(s);
    samples.get(s.id)!.push(sample);
    console.log(`round ${round} ${s.label}: enqueue ${fmt(sample.enqueue.jobsPerSecond)} jobs/s, process ${fmt(sample.process.jobsPerSecond)} jobs/s`);
  }
}
for (const phase of ['enqueue', 'process'] as const) {
  console.log(`\n${phase === 'enqueue' ? `Enqueue in batches of 1,000` : `Process (concurrency ${CONCURRENCY})`}, medians of ${ROUNDS}\n| system | jobs/s | server CPU µs | WAL bytes | rows inserted | rows updated | of which HOT | rows deleted |\n|---|---:|---:|---:|---:|---:|---:|---:|`);
  for (const s of systems) {
    const ps = samples.get(s.id)!.map((x) => x[phase]);
    const m = (k: keyof Phase) => median(ps.map((p) => p[k] ?? NaN));
    const cpu = ps.some((p) => p.cpuUs === null) ? 'n/a' : fmt(m('cpuUs'), 1);
    console.log(`| ${s.label} | ${fmt(m('jobsPerSecond'))} | ${cpu} | ${fmt(m('walBytes'))} | ${fmt(m('inserted'), 2)} | ${fmt(m('updated'), 2)} | ${fmt(m('hot'), 2)} | ${fmt(m('deleted'), 2)} |`);
  }
}
// Peers' clients can leave handles open after close: the measurement is done.
process.exit(0);
