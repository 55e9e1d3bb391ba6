// BullMQ on the same Redis, configured as its docs recommend for throughput: Queue.add /
// Queue.addBulk, one Worker with concurrency = the scenario's, bounded removeOnComplete /
// removeOnFail (the same counts as Baton's retention defaults), everything else default.
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { deleteRedisKeys, newRedis, probeRedis, redisBytes, redisKeyCount } from '../services.js';
import { BullInstance, QUEUE, routedQueues, type BullBackend, type Data } from './bullmq-common.js';
import type { Instance, OpenOptions, ScenarioId, System } from './types.js';

export const BULLMQ: System = {
  id: 'bullmq',
  label: 'BullMQ',
  kind: 'peer',
  family: 'redis',
  settings:
    'BullMQ 6.7 (Redis backend, its default); Queue.add / Queue.addBulk; one Worker, concurrency 50 (10 in scenario 4); removeOnComplete { count: 10000 }, removeOnFail { count: 100000 } (= Baton retention defaults); own ioredis connections with maxRetriesPerRequest: null; checkpoint = job.updateData (the "step job" pattern); scenario 6: lockDuration = stalledInterval = the stall timeout; scenario 8: a Queue per named queue (addBulk), each fleet worker one Worker per queue it serves (its connection of its own), the worker\'s 25 split 13 + 12 (a Worker\'s concurrency is its own), priority high = 1, normal = 2 (lower first; a job without priority would run before both)',
  probe: probeRedis,
  unsupported: (_s: ScenarioId) => null,
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    const conns: Redis[] = [newRedis()];
    const queue = new Queue<Data>(QUEUE, { connection: conns[0]!, prefix: ns });
    await queue.waitUntilReady();
    // Scenario 8's queues share the producer's connection, as the 'bench' Queue does.
    const routed = await routedQueues(options, (name) => new Queue<Data>(name, { connection: conns[0]!, prefix: ns }));
    const backend: BullBackend = {
      queue,
      routed,
      newWorker: (name, processor, opts) => {
        const conn = newRedis();
        conns.push(conn);
        return new Worker<Data>(name, processor, { ...opts, connection: conn, prefix: ns });
      },
      bytes: () => redisBytes(`${ns}:*`),
      records: () => redisKeyCount(`${ns}:*`),
      release: async () => {
        for (const c of conns) c.disconnect();
      },
    };
    return new BullInstance(backend, options);
  },
  destroy: (ns) => deleteRedisKeys(`${ns}:*`),
};
