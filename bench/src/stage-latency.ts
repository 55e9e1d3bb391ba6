// `npm run -w bench stage-latency [-- --system=production --n=1000]`: where scenario 4's
// enqueue→start latency goes, per port call. One worker (concurrency 10) in this process; N
// tasks enqueued one at a time ~2 ms apart, as in scenario 4. Every port method of the backend is
// timed (its promise, from call to settle), so the enqueue call splits into its port calls and
// the start into the claim and the start. A claim's time includes the wait of an idle claimer
// (it blocks until work arrives), so only its count is telling.
import { createBaton, mixBackend, silentLogger, type Backend } from '@baton/core';
import { postgresBackend } from '../../packages/adapter-postgres/src/index.js';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { quantile } from './stats.js';
import { DATABASE_URL, REDIS_URL, deleteRedisKeys, newNamespace, withPg } from './services.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(args.get('n') ?? 1_000);
if (!Number.isInteger(N) || N < 100 || N > 100_000) throw new Error(`--n must be an integer from 100 to 100,000; got ${args.get('n')}`);
const SYSTEMS: Record<string, (ns: string) => Backend> = {
  redis: (ns) => redisBackend(REDIS_URL, { prefix: ns }),
  postgres: (ns) => postgresBackend(DATABASE_URL, { schema: ns }),
  production: (ns) => {
    const r = redisBackend(REDIS_URL, { prefix: ns });
    const p = postgresBackend(DATABASE_URL, { schema: ns });
    return mixBackend({ name: 'production', queue: r.queue, heartbeats: r.heartbeats, tasks: p.tasks, checkpoints: p.checkpoints, timers: p.timers, events: p.events, coordination: p.coordination, sources: [r, p] });
  },
};
const chosen = (args.get('system') ?? 'redis,postgres,production').split(',');
for (const s of chosen) if (!(s in SYSTEMS)) throw new Error(`--system takes ${Object.keys(SYSTEMS).join(', ')} (comma-separated); got ${s}`);

type Timings = Map<string, number[]>;

/** The port with each method's settle time recorded under `name.method`. */
function timed<T extends object>(name: string, port: T, timings: Timings): T {
  return new Proxy(port, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...a: unknown[]) => {
        const t0 = performance.now();
        const out: unknown = value.apply(target, a);
        if (!(out instanceof Promise)) return out;
        return out.finally(() => {
          const k = `${name}.${String(key)}`;
          const list = timings.get(k) ?? [];
          list.push(performance.now() - t0);
          timings.set(k, list);
        });
      };
    },
  });
}

/** The same backend with every port timed; its capabilities are the real ones (a mix's atomicEvents compares ports by identity). */
function timedBackend(b: Backend, timings: Timings): Backend {
  return {
    ...b,
    queue: timed('queue', b.queue, timings),
    tasks: timed('tasks', b.tasks, timings),
    events: timed('events', b.events, timings),
    checkpoints: timed('checkpoints', b.checkpoints, timings),
    ...(b.flow ? { flow: timed('flow', b.flow, timings) } : {}),
    ready: (c) => b.ready(c),
    close: () => b.close(),
  };
}

const ms = (x: number) => x.toFixed(2);

for (const system of chosen) {
  const ns = newNamespace();
  const timings: Timings = new Map();
  const baton = createBaton({ backend: timedBackend(SYSTEMS[system]!(ns), timings), logger: silentLogger, worker: { concurrency: 10 } });
  const sent = new Float64Array(N);
  const latency: number[] = [];
  const enqueueCall: number[] = [];
  baton.register('bench', async (input) => {
    latency.push(performance.now() - sent[(input as { i: number }).i]!);
    return null;
  });
  try {
    await baton.start();
    // Let the worker reach its idle wait before the first task.
    await new Promise((r) => setTimeout(r, 300));
    timings.clear();
    for (let i = 0; i < N; i++) {
      await new Promise((r) => setTimeout(r, 2));
      sent[i] = performance.now();
      await baton.enqueue('bench', { i });
      enqueueCall.push(performance.now() - sent[i]!);
    }
    while (latency.length < N) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await baton.close();
    if (system !== 'redis') await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${ns}" CASCADE`));
    if (system !== 'postgres') await deleteRedisKeys(`{${ns}}`);
  }
  console.log(`\n${system}: ${N.toLocaleString('en-US')} tasks ~2 ms apart, worker concurrency 10`);
  console.log(`enqueue→start p50 ${ms(quantile(latency, 0.5))} ms, p99 ${ms(quantile(latency, 0.99))} ms; the enqueue call p50 ${ms(quantile(enqueueCall, 0.5))} ms`);
  console.log('| port call | calls per task | p50 ms | p99 ms |\n|---|---:|---:|---:|');
  for (const [k, v] of [...timings.entries()].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`| ${k} | ${(v.length / N).toFixed(2)} | ${ms(quantile(v, 0.5))} | ${ms(quantile(v, 0.99))} |`);
  }
}
