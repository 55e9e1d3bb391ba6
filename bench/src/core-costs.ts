// `npm run -w bench core-costs [-- --n=100000 --runs=5 --backends=memory,sqlite,sqlite-inline --concurrency=50 --profile --allocations]`:
// the core's own cost per task (issue 13), which bounds every backend. Scenario 3's shape (N
// pre-enqueued no-op tasks, one worker) on the in-process backends, measured from worker start to
// the last completion: bytes allocated per task (heap growth plus what each GC freed, from
// v8.GCProfiler: the same figure run after run, unlike time on a shared machine), this process's
// CPU µs per task (all its threads: the SQLite checkpoint thread's too), the share of wall time
// spent in GC, and tasks/s. `sqlite-inline` is SQLite with its checkpoints inside commits
// (walCheckpoint: 'inline'), as before the checkpoint thread. Each backend runs a discarded
// warm-up first (so the JIT has settled), then the runs alternate between backends so a noisy
// neighbour hits them alike; medians are printed last. `--profile` also takes a CPU profile of each
// backend's last run and prints where its time went: core, adapter, GC, Node (shares of samples;
// the profiler's own overhead makes that run slower). `--allocations` instead samples what the last
// run allocates and prints the bytes per task of the functions that allocated the most.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { createBaton, silentLogger, type Backend } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { sqliteBackend } from '@baton/sqlite';
import { AllocationProfiler, CpuProfiler, type CpuSplit } from './profiles.js';
import { intArg } from './int-arg.js';
import { enqueueBench, noOpCompletions } from './no-op-runs.js';
import { newNamespace, removeFiles, sqliteFile } from './services.js';

function arg(name: string): string | undefined {
  return process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const N = intArg('n', 100_000, 1_000, 1_000_000);
const RUNS = intArg('runs', 3, 1, 20);
const PROFILE = process.argv.slice(2).includes('--profile');
const ALLOCATIONS = process.argv.slice(2).includes('--allocations');
if (PROFILE && ALLOCATIONS) throw new Error('--profile and --allocations each slow the run they watch: pass one at a time');
const CONCURRENCY = intArg('concurrency', 50, 1, 1_000);

interface Target {
  name: string;
  open(): { backend: Backend; cleanup(): Promise<void> };
}

const TARGETS: Record<string, Target> = {
  memory: { name: 'memory', open: () => ({ backend: memoryBackend(), cleanup: async () => undefined }) },
  sqlite: {
    name: 'sqlite',
    open: () => {
      const file = sqliteFile(newNamespace());
      return { backend: sqliteBackend({ file }), cleanup: () => removeFiles(file) };
    },
  },
  // SQLite's own checkpoints inside commits, as before the checkpoint thread: the comparison for it.
  'sqlite-inline': {
    name: 'sqlite-inline',
    open: () => {
      const file = sqliteFile(newNamespace());
      return { backend: sqliteBackend({ file }, { walCheckpoint: 'inline' }), cleanup: () => removeFiles(file) };
    },
  },
};

const names = (arg('backends') ?? 'memory,sqlite').split(',');
const targets = names.map((n) => {
  const t = TARGETS[n];
  if (!t) throw new Error(`--backends: unknown backend "${n}" (known: ${Object.keys(TARGETS).join(', ')})`);
  return t;
});

interface Sample {
  bytesPerTask: number;
  cpuUsPerTask: number;
  tasksPerSecond: number;
  gcShare: number;
  cpu?: CpuSplit;
  /** Bytes allocated per function, over the run. */
  allocations?: [string, number][];
}

async function measure(target: Target, n: number, watch: 'cpu' | 'allocations' | null = null): Promise<Sample> {
  const { backend, cleanup } = target.open();
  const baton = createBaton({ backend, logger: silentLogger, worker: { concurrency: CONCURRENCY } });
  try {
    await enqueueBench(baton, n);
    const all = noOpCompletions(baton, n);
    const profiler = watch === 'cpu' ? new CpuProfiler() : null;
    const sampler = watch === 'allocations' ? new AllocationProfiler() : null;
    await profiler?.start();
    await sampler?.start();
    const gc = new GCProfiler();
    gc.start();
    const used0 = getHeapStatistics().used_heap_size;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await baton.start();
    await all;
    const t1 = performance.now();
    const seconds = (t1 - t0) / 1_000;
    const cpu = process.cpuUsage(cpu0);
    const used1 = getHeapStatistics().used_heap_size;
    const { statistics } = gc.stop();
    // Everything allocated either is still on the heap or was freed by one of the collections.
    let freed = 0;
    let gcUs = 0;
    for (const s of statistics) {
      freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
      gcUs += s.cost;
    }
    return {
      bytesPerTask: (used1 - used0 + freed) / n,
      cpuUsPerTask: (cpu.user + cpu.system) / n,
      tasksPerSecond: n / seconds,
      gcShare: gcUs / 1e6 / seconds,
      cpu: await profiler?.stop(t1),
      allocations: await sampler?.stop(),
    };
  } finally {
    await baton.close();
    await cleanup();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const line = (label: string, s: Sample) =>
  `| ${label} | ${fmt(s.bytesPerTask)} | ${fmt(s.cpuUsPerTask, 1)} | ${fmt(s.tasksPerSecond)} | ${fmt(s.gcShare * 100)} % |`;

console.log(`${N.toLocaleString('en-US')} pre-enqueued no-op tasks, concurrency ${CONCURRENCY}, ${RUNS} run(s) per backend, Node ${process.version}`);
for (const t of targets) await measure(t, Math.max(1_000, Math.floor(N / 10)));
const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
console.log('| run | bytes allocated / task | CPU µs / task | tasks/s | GC share of wall |\n|---|---:|---:|---:|---:|');
for (let run = 1; run <= RUNS; run++) {
  for (const t of targets) {
    const watch = run < RUNS ? null : PROFILE ? 'cpu' : ALLOCATIONS ? 'allocations' : null;
    const s = await measure(t, N, watch);
    samples.get(t.name)!.push(s);
    console.log(line(`${t.name} #${run}${watch ? ` (${watch === 'cpu' ? 'profiled' : 'allocations sampled'})` : ''}`, s));
  }
}
for (const t of targets) {
  const ss = samples.get(t.name)!;
  console.log(
    line(`**${t.name} median**`, {
      bytesPerTask: median(ss.map((s) => s.bytesPerTask)),
      cpuUsPerTask: median(ss.map((s) => s.cpuUsPerTask)),
      tasksPerSecond: median(ss.map((s) => s.tasksPerSecond)),
      gcShare: median(ss.map((s) => s.gcShare)),
    }),
  );
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
for (const t of targets) {
  const cpu = samples.get(t.name)!.at(-1)?.cpu;
  if (!cpu) continue;
  console.log(`\n${t.name}, run #${RUNS}: share of CPU samples from worker start to the last completion\n| part | share |\n|---|---:|`);
  for (const [name, share] of cpu.parts) console.log(`| ${name} | ${pct(share)} |`);
  console.log(`\n| function (self time) | share |\n|---|---:|`);
  for (const [name, share] of cpu.top) console.log(`| ${name} | ${pct(share)} |`);
}
for (const t of targets) {
  const allocations = samples.get(t.name)!.at(-1)?.allocations;
  if (!allocations) continue;
  const total = allocations.reduce((a, [, b]) => a + b, 0);
  console.log(`\n${t.name}, run #${RUNS}: bytes allocated per task, by the function that allocated (sampled; ${fmt(total / N)} in all)\n| function | bytes / task |\n|---|---:|`);
  for (const [name, bytes] of allocations.slice(0, 15)) console.log(`| ${name} | ${fmt(bytes / N)} |`);
}
