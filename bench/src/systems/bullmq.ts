// BullMQ on the same Redis, configured as its docs recommend for throughput: Queue.add /
// Queue.addBulk, one Worker with concurrency = the scenario's, bounded removeOnComplete /
// removeOnFail (the same counts as Baton's retention defaults), everything else default.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Payload } from '../payload.js';
import { deleteRedisKeys, newRedis, probeRedis, redisBytes, redisKeyCount } from '../services.js';
import type { Instance, JobHandler, OpenOptions, ScenarioId, System } from './types.js';

const QUEUE = 'bench';
const KEEP = { removeOnComplete: { count: 10_000 }, removeOnFail: { count: 100_000 } };

type Data = Payload & { cp?: unknown };

class BullInstance implements Instance {
  private worker: Worker<Data> | null = null;
  private readonly conns: Redis[] = [];

  constructor(
    private readonly ns: string,
    private readonly queue: Queue<Data>,
    queueConn: Redis,
    private readonly options: OpenOptions,
  ) {
    this.conns.push(queueConn);
  }

  async enqueue(payload: Payload): Promise<void> {
    await this.queue.add(QUEUE, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.queue.addBulk(payloads.map((data) => ({ name: QUEUE, data })));
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const conn = newRedis();
    this.conns.push(conn);
    const stall = this.options.stallTimeoutMs;
    this.worker = new Worker<Data>(
      QUEUE,
      async (job: Job<Data>) => {
        await handler(job.data, {
          // BullMQ's "step job" pattern: progress lives in the job's data.
          checkpoint: (step, data) => job.updateData({ ...job.data, cp: { step, data } }),
          restored: job.data.cp ?? null,
        });
      },
      {
        connection: conn,
        prefix: this.ns,
        concurrency: this.options.concurrency,
        ...KEEP,
        // The scenario's stall timeout maps to the lock length and the stalled-job check period.
        ...(stall ? { lockDuration: stall, stalledInterval: stall } : {}),
      },
    );
    this.worker.on('error', () => undefined);
    this.worker.on('completed', (job) => {
      if (job.id) onCompleted(job.id);
    });
    await this.worker.waitUntilReady();
  }

  async stopWorker(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }

  backendBytes(): Promise<number | null> {
    return redisBytes(`${this.ns}:*`);
  }

  backendRecords(): Promise<number | null> {
    return redisKeyCount(`${this.ns}:*`);
  }

  async close(): Promise<void> {
    await this.stopWorker();
    await this.queue.close();
    for (const c of this.conns) c.disconnect();
  }
}

export const BULLMQ: System = {
  id: 'bullmq',
  label: 'BullMQ',
  kind: 'peer',
  family: 'redis',
  settings:
    'Queue.add / Queue.addBulk; one Worker, concurrency 50 (10 in scenario 4); removeOnComplete { count: 10000 }, removeOnFail { count: 100000 } (= Baton retention defaults); own ioredis connections with maxRetriesPerRequest: null; checkpoint = job.updateData (the "step job" pattern); scenario 6: lockDuration = stalledInterval = the stall timeout',
  probe: probeRedis,
  unsupported: (_s: ScenarioId) => null,
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    const conn = newRedis();
    const queue = new Queue<Data>(QUEUE, { connection: conn, prefix: ns });
    await queue.waitUntilReady();
    return new BullInstance(ns, queue, conn, options);
  },
  destroy: (ns) => deleteRedisKeys(`${ns}:*`),
};
