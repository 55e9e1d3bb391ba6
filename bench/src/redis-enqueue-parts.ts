// `npm run -w bench redis-enqueue-parts [-- --n=20000 --block=500]`: what each part of the Redis
// adapter's awaited enqueue costs in scenario 1's shape (one `baton.enqueue` at a time, each
// awaited), next to BullMQ's `Queue.add` in the same run. Each variant runs the same client path
// (core, ioredis, the same arguments) with `create-one` swapped, on the wire, for a copy that
// leaves one part out: the 24 h idempotency key (SET NX PX and the id check), the creation index
// (ZADD into the active set), the delivery (its record, its ready-set entry and the waiter check),
// the audit event (INCRBY and XADD), or everything (a script that only replies: one round trip's
// floor). A variant's records are incomplete on purpose: each runs on a fresh prefix, deleted
// afterwards.
import { Queue } from 'bullmq';
import { createBaton, silentLogger, type JsonObject } from '@baton/core';
import { redisBackend } from '../../packages/adapter-redis/src/index.js';
import { scripts } from '../../packages/adapter-redis/src/scripts.js';
import { intArg } from './int-arg.js';
import { makePayload } from './payload.js';
import { KEEP } from './systems/bullmq-common.js';
import { median } from './stats.js';
import { deleteRedisKeys, newNamespace, newRedis } from './services.js';

const N = intArg('n', 20_000, 1_000, 200_000);
const BLOCK = intArg('block', 500, 100, 10_000);
const WARM = 1_000;

const full = scripts['create-one'].source;
/** `full` with `from` replaced by `to`; throws when `from` is not there, so a changed script cannot be measured as unchanged. */
function without(from: string, to: string): string {
  if (!full.includes(from)) throw new Error(`create-one no longer contains ${JSON.stringify(from)}: update this benchmark's variants`);
  return full.replace(from, to);
}
const VARIANTS: { label: string; source: string | null }[] = [
  { label: 'create-one as shipped', source: null },
  { label: 'without the idempotency key', source: without('local dup = takeKey(key, id, ARGV[7])', 'local dup = nil') },
  { label: 'without the creation index', source: without("redis.call('ZADD', K.active, seq, id)", '') },
  { label: 'without the delivery', source: without('if enqueueReady(id, q, tonumber(ARGV[9]), seq, now) then wakeQueue(q) end', '') },
  { label: 'without the audit event', source: without('if events > 0 then', 'if false then') },
  { label: 'a script that only replies', source: 'return { ARGV[4], 0 }' },
];

interface Instance {
  label: string;
  op: (i: number) => Promise<unknown>;
  close: () => Promise<void>;
}

async function baton(variant: (typeof VARIANTS)[number]): Promise<Instance> {
  const ns = newNamespace();
  const client = newRedis();
  let sha: string | null = null;
  if (variant.source !== null) sha = (await client.script('LOAD', variant.source)) as string;
  // The swap happens where the adapter hands EVALSHA to ioredis, so everything before it is the shipped path.
  const call = client.call.bind(client) as (command: string, args: unknown[]) => Promise<unknown>;
  (client as unknown as { call: typeof call }).call = (command, args) => {
    if (sha !== null && command === 'EVALSHA' && args[0] === scripts['create-one'].sha) args[0] = sha;
    return call(command, args);
  };
  const b = createBaton({ backend: redisBackend(client as never, { prefix: ns }), logger: silentLogger });
  return {
    label: variant.label,
    op: (i) => b.enqueue('bench', makePayload(i) as unknown as JsonObject),
    close: async () => {
      await b.close();
      client.disconnect();
      await deleteRedisKeys(`{${ns}}`);
    },
  };
}

async function bullmq(): Promise<Instance> {
  const ns = newNamespace();
  const connection = newRedis();
  const queue = new Queue('bench', { connection, prefix: ns });
  return {
    label: "BullMQ's Queue.add",
    op: (i) => queue.add('bench', makePayload(i), KEEP),
    close: async () => {
      await queue.close();
      connection.disconnect();
      await deleteRedisKeys(ns);
    },
  };
}

const instances: Instance[] = [];
for (const v of VARIANTS) instances.push(await baton(v));
instances.push(await bullmq());
try {
  // Unmeasured first: connections, script loads, the JIT.
  for (const inst of instances) for (let i = 0; i < WARM; i++) await inst.op(i);
  // Blocks of BLOCK enqueues, each system in turn (the order rotated every block), so the
  // machine's drift reaches every system alike; each system's figure is the median of its blocks.
  const perBlock = new Map<string, number[]>(instances.map((inst) => [inst.label, []]));
  const cpu = new Map<string, number>(instances.map((inst) => [inst.label, 0]));
  const blocks = Math.ceil(N / BLOCK);
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < instances.length; k++) {
      const inst = instances[(k + b) % instances.length]!;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < BLOCK; i++) await inst.op(WARM + b * BLOCK + i);
      const us = (performance.now() - t0) * 1000;
      const c = process.cpuUsage(c0);
      perBlock.get(inst.label)!.push(us / BLOCK);
      cpu.set(inst.label, cpu.get(inst.label)! + c.user + c.system);
    }
  }
  const med = (label: string) => median(perBlock.get(label)!);
  const shipped = med(VARIANTS[0]!.label);
  const bull = med("BullMQ's Queue.add");
  console.log(`\n${(blocks * BLOCK).toLocaleString('en-US')} awaited enqueues per system in ${blocks} blocks of ${BLOCK.toLocaleString('en-US')}, after ${WARM.toLocaleString('en-US')} unmeasured; medians over blocks:\n`);
  console.log('| variant | µs per enqueue | enqueues/s | vs shipped (µs) | client CPU µs | BullMQ / this |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const inst of instances) {
    const us = med(inst.label);
    const delta = inst.label === VARIANTS[0]!.label ? '' : (us - shipped).toFixed(1);
    console.log(`| ${inst.label} | ${us.toFixed(1)} | ${Math.round(1e6 / us).toLocaleString('en-US')} | ${delta} | ${(cpu.get(inst.label)! / (blocks * BLOCK)).toFixed(1)} | ${(bull / us).toFixed(2)}× |`);
  }
} finally {
  for (const inst of instances) await inst.close();
}
