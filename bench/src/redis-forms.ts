// `npm run -w bench redis-forms [-- --calls=2000 --rounds=5]`: whether Redis Functions would make
// the adapter's per-call scripts cheaper (the question scenario 1 raises: an EVAL runs every
// definition of the script's chunk on each call; a function library defines them once, at
// FUNCTION LOAD). For `create-one` (one task, the awaited enqueue) and `create` with one task,
// the same calls with the same arguments by EVALSHA and by FCALL of the same Lua as a function
// library — its functions at the library's top level, every other definition declared there and
// assigned at the start of each call — alternating in rounds on a fresh prefix; plus the floor of
// each form (`return {1}` with the same number of arguments). Redis's own time per call from
// INFO commandstats. Needs Redis 7 (functions); the libraries are deleted afterwards.
import { randomUUID } from 'node:crypto';
import { silentLogger, type JsonObject } from '@baton/core';
import type { NewTask } from '@baton/core/adapter';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { eventArgs } from '../../packages/adapter-redis/src/event-codec.js';
import { files } from '../../packages/adapter-redis/src/lua.generated.js';
import { scripts, type ScriptName } from '../../packages/adapter-redis/src/scripts.js';
import { packTask } from '../../packages/adapter-redis/src/task-codec.js';
import { intArg } from './int-arg.js';
import { makePayload } from './payload.js';
import { deleteRedisKeys, newNamespace, REDIS_URL, withRedis } from './services.js';

const CALLS = intArg('calls', 2_000, 100, 100_000);
const ROUNDS = intArg('rounds', 5, 1, 20);

/** The script's Lua as a function library named `name` (see the header). */
function library(script: ScriptName, name: string): string {
  const source = scripts[script].source;
  const body = files[`${script}.lua`]!.replace(/^-- @include [a-z-]+$/gm, '');
  if (!source.endsWith(body)) throw new Error(`${script}: its built source does not end with its body`);
  const declared = ['KEYS', 'ARGV'];
  const functions: string[] = [];
  const perCall = ['KEYS, ARGV = keys, args'];
  // The build joins top-level definitions, each starting at a `local` in column 0.
  for (const d of source.slice(0, -body.length).split(/\n(?=local )/)) {
    const text = d.trimEnd();
    if (text.startsWith('local function ')) functions.push(text);
    else if (text.startsWith('local ')) {
      const assignment = text.slice('local '.length);
      declared.push(...assignment.slice(0, assignment.indexOf('=')).split(',').map((n) => n.trim()));
      perCall.push(assignment);
    }
  }
  return [`#!lua name=${name}`, `local ${declared.join(', ')}`, ...functions, `redis.register_function('${name}', function(keys, args)`, ...perCall, body, 'end)', ''].join('\n');
}

await withRedis(async (r) => {
  const ns = newNamespace();
  const P = `{${ns}}:`;
  const backend = redisBackend(REDIS_URL, { prefix: ns });
  await backend.ready({ logger: silentLogger });
  const names = { 'create-one': `bench_forms_create_one_${process.pid}`, create: `bench_forms_create_${process.pid}`, floor: `bench_forms_floor_${process.pid}` };
  await r.call('FUNCTION', 'LOAD', library('create-one', names['create-one']));
  await r.call('FUNCTION', 'LOAD', library('create', names.create));
  await r.call('FUNCTION', 'LOAD', `#!lua name=${names.floor}\nredis.register_function('${names.floor}', function(keys, args) return {1} end)\n`);
  const floorSha = (await r.script('LOAD', 'return {1}')) as string;
  const scriptUs = async (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=\\d+,usec=(\\d+)`).exec(await r.info('commandstats'))?.[1] ?? 0);
  let n = 0;
  const task = (): NewTask => ({ id: randomUUID(), type: 'bench', queue: 'default', priority: 0, group: null, input: makePayload(n++) as unknown as JsonObject, idempotencyKey: randomUUID(), keyTtlMs: 86_400_000, runId: null, phaseId: null, maxRetries: 3, budget: null, traceContext: null });
  const enqueued = (t: NewTask) => [{ id: randomUUID(), type: 'task.enqueued' as const, at: Date.now(), runId: null, phaseId: null, taskId: t.id, workerId: null, data: { type: t.type, queue: t.queue } }];
  // Each script's arguments as the adapter sends them (redis-task-store.ts), after the common three.
  const argsOf = {
    'create-one': (t: NewTask) => [t.id, t.type, t.idempotencyKey, t.keyTtlMs, t.queue, t.priority, packTask(t), 1, ...eventArgs(enqueued(t), '{"runId":null,"phaseId":null,')],
    create: (t: NewTask) => [t.id, t.type, t.idempotencyKey, t.keyTtlMs, t.queue, t.priority, '', '', '', packTask(t), 0, ...eventArgs(enqueued(t))],
    floor: () => Array.from({ length: 10 }, (_, i) => `argument ${i}`),
  };
  const cases = [
    { label: 'create-one', sha: scripts['create-one'].sha, fn: names['create-one'], args: argsOf['create-one'] },
    { label: 'create (one task)', sha: scripts.create.sha, fn: names.create, args: argsOf.create },
    { label: 'return {1} (same argument count as create-one)', sha: floorSha, fn: names.floor, args: argsOf.floor },
  ];
  const results = new Map<string, { evalsha: number[]; fcall: number[] }>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        for (const form of ['evalsha', 'fcall'] as const) {
          const u0 = await scriptUs(form);
          for (let i = 0; i < CALLS; i++) await r.call(form.toUpperCase(), form === 'fcall' ? c.fn : c.sha, 1, `${P}meta`, P, '1000000', `f${n}.`, ...c.args(task()));
          const e = results.get(c.label) ?? { evalsha: [], fcall: [] };
          e[form].push(((await scriptUs(form)) - u0) / CALLS);
          results.set(c.label, e);
        }
      }
    }
  } finally {
    for (const name of Object.values(names)) await r.call('FUNCTION', 'DELETE', name).catch(() => undefined);
    await backend.close();
    await deleteRedisKeys(P);
  }
  const f1 = (x: number) => x.toFixed(1);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(`Redis time per call (µs, INFO commandstats), ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')} calls; median (range)`);
  console.log('| script | EVALSHA | FCALL |\n|---|---:|---:|');
  for (const [label, e] of results) console.log(`| ${label} | ${f1(med(e.evalsha))} (${f1(Math.min(...e.evalsha))}–${f1(Math.max(...e.evalsha))}) | ${f1(med(e.fcall))} (${f1(Math.min(...e.fcall))}–${f1(Math.max(...e.fcall))}) |`);
});
