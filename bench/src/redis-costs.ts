// `npm run -w bench redis-costs [-- --n=20000 --concurrency=50,200]`: where the Redis adapter's
// time goes, per task. Runs on a fresh prefix each: scenario 3's shape (N pre-enqueued no-op
// tasks, one worker, at each --concurrency: 50 by default, as in scenario 3) and N/4 awaited
// enqueues (scenario 1's shape). For each: this process's CPU per task, the Redis server's CPU per
// task (/proc/<redis pid>/stat: the server must run on this machine, as the benchmark's loopback
// rule makes it), the Redis commands run per task and Redis's time in them (INFO commandstats,
// scripts' own calls included: a script's time minus its commands' is Lua and redis.call
// overhead) and the time of each Lua script per call from Redis's own SLOWLOG (threshold 20 µs
// for the run, restored afterwards; a script call with a batch of tasks always takes longer than
// that). Then BullMQ's `Queue.add`, awaited, the same number of times (settings as in the
// benchmark), and `EVALSHA` of `return 1`, the floor of any script call.
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { createBaton, silentLogger, type JsonObject } from '@baton/core';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { scripts } from '../../packages/adapter-redis/src/scripts.js';
import { enqueueBench, noOpCompletions } from './no-op-runs.js';
import { makePayload } from './payload.js';
import { KEEP } from './systems/bullmq-common.js';
import { deleteRedisKeys, newNamespace, newRedis, REDIS_URL, withRedis } from './services.js';

const nArg = process.argv.slice(2).find((a) => a.startsWith('--n='));
const N = nArg ? Number(nArg.slice(4)) : 20_000;
if (!Number.isInteger(N) || N < 1_000 || N > 1_000_000) throw new Error(`--n must be an integer from 1,000 to 1,000,000; got ${nArg}`);
const cArg = process.argv.slice(2).find((a) => a.startsWith('--concurrency='));
// Scenario 3 runs at 50; a higher one shows the Redis time per task once Redis, not the round trips, is the limit.
const CONCURRENCY = cArg ? cArg.slice('--concurrency='.length).split(',').map(Number) : [50];
if (CONCURRENCY.some((c) => !Number.isInteger(c) || c < 1 || c > 1_000)) throw new Error(`--concurrency must be integers from 1 to 1,000, comma-separated; got ${cArg}`);

const scriptBySha = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));

interface Costs {
  label: string;
  tasks: number;
  seconds: number;
  clientUs: number;
  serverUs: number | null;
  perScript: Map<string, { calls: number; us: number }>;
  /** Redis commands run per task (scripts' own calls included) and Redis's time in each per task (µs), from INFO commandstats. */
  perCommand: Map<string, { calls: number; us: number }>;
}

function commandStats(info: string): Map<string, { calls: number; us: number }> {
  const stats = new Map<string, { calls: number; us: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), us: Number(m[3]) });
  return stats;
}

await withRedis(async (r) => {
  const pid = Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]);
  const serverCpuUs = (): number | null => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) * (1e6 / 100);
    } catch {
      return null;
    }
  };
  const saved = (await r.config('GET', 'slowlog-*')) as string[];
  const restore = async () => {
    for (let i = 0; i < saved.length; i += 2) await r.config('SET', saved[i]!, saved[i + 1]!);
    await r.slowlog('RESET');
  };

  async function measure(label: string, tasks: number, body: () => Promise<void>): Promise<Costs> {
    await r.config('SET', 'slowlog-log-slower-than', '20');
    await r.config('SET', 'slowlog-max-len', '200000');
    await r.slowlog('RESET');
    const k0 = commandStats(await r.info('commandstats'));
    const s0 = serverCpuUs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await body();
    const seconds = (performance.now() - t0) / 1_000;
    const c = process.cpuUsage(c0);
    const s1 = serverCpuUs();
    const k1 = commandStats(await r.info('commandstats'));
    const perCommand = new Map<string, { calls: number; us: number }>();
    for (const [cmd, n] of k1) {
      // The measuring connection's own INFO / SLOWLOG / CONFIG calls (Redis 7 names subcommands
      // `config|get`) are not the system's.
      if (['info', 'slowlog', 'config'].includes(cmd.split('|')[0]!)) continue;
      const d = n.calls - (k0.get(cmd)?.calls ?? 0);
      if (d > 0) perCommand.set(cmd, { calls: d / tasks, us: (n.us - (k0.get(cmd)?.us ?? 0)) / tasks });
    }
    const log = (await r.slowlog('GET', '200000')) as [number, number, number, string[]][];
    await restore();
    const perScript = new Map<string, { calls: number; us: number }>();
    for (const [, , us, args] of log) {
      if (String(args[0]).toUpperCase() !== 'EVALSHA') continue;
      const name = scriptBySha.get(String(args[1])) ?? 'a script not Baton\'s';
      const e = perScript.get(name) ?? { calls: 0, us: 0 };
      e.calls += 1;
      e.us += Number(us);
      perScript.set(name, e);
    }
    return { label, tasks, seconds, clientUs: (c.user + c.system) / tasks, serverUs: s0 === null || s1 === null ? null : (s1 - s0) / tasks, perScript, perCommand };
  }

  async function fresh<T>(fn: (baton: ReturnType<typeof createBaton>) => Promise<T>, concurrency = 50): Promise<T> {
    const ns = newNamespace();
    const backend = redisBackend(REDIS_URL, { prefix: ns });
    const baton = createBaton({ backend, logger: silentLogger, worker: { concurrency } });
    // Connected (and its scripts loaded) by one enqueue before anything is measured.
    await baton.enqueue('warm-up', { at: Date.now() });
    try {
      return await fn(baton);
    } finally {
      await baton.close();
      await deleteRedisKeys(`{${ns}}`);
    }
  }

  try {
    const processing: Costs[] = [];
    for (const concurrency of CONCURRENCY) {
      const costs = await fresh(async (baton) => {
        await enqueueBench(baton, N);
        const all = noOpCompletions(baton, N);
        return measure(`process ${N.toLocaleString('en-US')} pre-enqueued tasks (concurrency ${concurrency})`, N, async () => {
          await baton.start();
          await all;
        });
      }, concurrency);
      processing.push(costs);
    }
    const enqueues = Math.floor(N / 4);
    const enqueueing = await fresh((baton) =>
      measure(`${enqueues.toLocaleString('en-US')} awaited enqueues`, enqueues, async () => {
        for (let i = 0; i < enqueues; i++) await baton.enqueue('bench', makePayload(i) as unknown as JsonObject);
      }),
    );
    const bullmq = await (async () => {
      const ns = newNamespace();
      const connection = newRedis();
      const queue = new Queue('bench', { connection, prefix: ns });
      await queue.waitUntilReady();
      await queue.add('warm-up', {});
      try {
        return await measure(`${enqueues.toLocaleString('en-US')} awaited BullMQ Queue.add`, enqueues, async () => {
          for (let i = 0; i < enqueues; i++) await queue.add('bench', makePayload(i), KEEP);
        });
      } finally {
        await queue.close();
        connection.disconnect();
        await deleteRedisKeys(`${ns}:`);
      }
    })();
    const sha = (await r.script('LOAD', 'return 1')) as string;
    const info0 = await r.info('commandstats');
    for (let i = 0; i < 2_000; i++) await r.evalsha(sha, 0);
    const info1 = await r.info('commandstats');
    const usec = (info: string) => Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(info)?.[1] ?? 0);
    const floorUs = (usec(info1) - usec(info0)) / 2_000;

    const f1 = (x: number) => x.toFixed(1);
    for (const c of [...processing, enqueueing, bullmq]) {
      console.log(`\n${c.label}: ${Math.round(c.tasks / c.seconds).toLocaleString('en-US')} tasks/s; per task: client CPU ${f1(c.clientUs)} µs, Redis CPU ${c.serverUs === null ? 'n/a (server not on this machine)' : `${f1(c.serverUs)} µs`}`);
      console.log('| script | calls | tasks / calls | µs per call | µs per task |\n|---|---:|---:|---:|---:|');
      for (const [name, e] of [...c.perScript.entries()].sort((a, b) => b[1].us - a[1].us)) {
        console.log(`| ${name} | ${e.calls.toLocaleString('en-US')} | ${f1(c.tasks / e.calls)} | ${f1(e.us / e.calls)} | ${f1(e.us / c.tasks)} |`);
      }
      const cmds = [...c.perCommand.entries()].sort((a, b) => b[1].calls - a[1].calls);
      const total = cmds.reduce((t, [, n]) => t + n.calls, 0);
      console.log(`Redis commands per task: ${total.toFixed(2)} (${cmds.map(([cmd, n]) => `${cmd} ${n.calls.toFixed(2)}`).join(', ')})`);
      // A script's own time in commandstats includes the commands it runs (each also counted
      // under its own name): the difference is Lua and the cost of each redis.call around its command.
      const isScript = (cmd: string) => cmd === 'evalsha' || cmd === 'eval';
      const scriptUs = cmds.filter(([cmd]) => isScript(cmd)).reduce((t, [, n]) => t + n.us, 0);
      const inner = cmds.filter(([cmd]) => !isScript(cmd));
      const innerUs = inner.reduce((t, [, n]) => t + n.us, 0);
      const innerCalls = inner.reduce((t, [, n]) => t + n.calls, 0);
      if (scriptUs > 0) {
        console.log(
          `Redis time per task: ${f1(scriptUs)} µs in script calls, of which ${f1(innerUs)} µs in the ${innerCalls.toFixed(1)} commands they run (${inner.map(([cmd, n]) => `${cmd} ${f1(n.us)}`).join(', ')}) and ${f1(scriptUs - innerUs)} µs around them (Lua, redis.call)`,
        );
      }
    }
    console.log(`\nEVALSHA of \`return 1\`: ${f1(floorUs)} µs of Redis time per call (2,000 calls).`);
  } finally {
    await restore();
  }
});
