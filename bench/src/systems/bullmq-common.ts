// What BullMQ on Redis and BullMQ on Postgres share, so the two rows differ only in the backend:
// the same Queue / Worker calls, the same retention, the same checkpoint pattern and stall mapping.
// Scenario 8: a Queue per named queue and, for each fleet worker, a Worker per queue it serves —
// a BullMQ Worker consumes exactly one queue and its concurrency is its own (there is no limit
// shared by the Workers of one process), so the fleet worker's concurrency is split between its
// Workers (25 → 13 + 12). Priority: BullMQ runs lower numbers first and a job with no priority
// before every prioritized one, so high = 1 and normal = 2 (both in the prioritized set).
import type { Job } from 'bullmq';
import type { Payload } from '../payload.js';
import { split } from './fleet.js';
import { ROUTED_QUEUES, type Instance, type JobHandler, type OpenOptions, type RoutedJob, type RoutedQueue } from './types.js';

export const QUEUE = 'bench';
/** The same counts as Baton's retention defaults (and BullMQ's production advice to bound both). */
export const KEEP = { removeOnComplete: { count: 10_000 }, removeOnFail: { count: 100_000 } };

export type Data = Payload & { cp?: unknown };

export interface BullQueue {
  add(name: string, data: Data): Promise<unknown>;
  addBulk(jobs: { name: string; data: Data; opts?: { priority: number } }[]): Promise<unknown>;
  close(): Promise<void>;
}

/** BullMQ priorities for scenario 8 (see the header). */
export const BULL_PRIORITY = { high: 1, normal: 2 } as const;

export interface BullWorker {
  on(event: 'completed', listener: (job: Job<Data>) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

export interface BullBackend {
  /** The queue of scenarios 1–7. */
  queue: BullQueue;
  /** Scenario 8's named queues (ready before any timing). */
  routed: ReadonlyMap<RoutedQueue, BullQueue>;
  newWorker(queue: string, processor: (job: Job<Data>) => Promise<void>, options: ReturnType<typeof workerOptions>): BullWorker;
  bytes(): Promise<number | null>;
  records(): Promise<number | null>;
  /** After the queue and worker closed: whatever connections the backend opened itself. */
  release(): Promise<void>;
}

export function workerOptions(options: OpenOptions) {
  const stall = options.stallTimeoutMs;
  return {
    concurrency: options.concurrency,
    ...KEEP,
    // The scenario's stall timeout maps to the lock length and the stalled-job check period.
    ...(stall ? { lockDuration: stall, stalledInterval: stall } : {}),
  };
}

/** Queue names → Queues for the fleet's queues, or an empty map outside scenario 8. */
export async function routedQueues(options: OpenOptions, make: (name: RoutedQueue) => BullQueue & { waitUntilReady(): Promise<unknown> }): Promise<Map<RoutedQueue, BullQueue>> {
  const out = new Map<RoutedQueue, BullQueue>();
  if (!options.fleet) return out;
  for (const name of ROUTED_QUEUES) {
    const q = make(name);
    await q.waitUntilReady();
    out.set(name, q);
  }
  return out;
}

export class BullInstance implements Instance {
  private workers: BullWorker[] = [];

  constructor(
    private readonly backend: BullBackend,
    private readonly options: OpenOptions,
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.backend.queue.add(QUEUE, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.backend.queue.addBulk(payloads.map((data) => ({ name: QUEUE, data })));
  }

  async enqueueRouted(jobs: RoutedJob[]): Promise<void> {
    for (const [name, queue] of this.backend.routed) {
      const mine = jobs.filter((j) => j.queue === name);
      if (mine.length > 0) await queue.addBulk(mine.map((j) => ({ name, data: j.payload, opts: { priority: BULL_PRIORITY[j.priority] } })));
    }
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const worker = this.backend.newWorker(
      QUEUE,
      async (job) => {
        await handler(job.data, {
          // BullMQ's "step job" pattern: progress lives in the job's data.
          checkpoint: (step, data) => job.updateData({ ...job.data, cp: { step, data } }),
          restored: job.data.cp ?? null,
        });
      },
      workerOptions(this.options),
    );
    await this.track(worker, onCompleted, '');
  }

  async startRoutedWorker(index: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const queues = this.options.fleet?.[index];
    if (!queues) throw new Error(`No fleet worker ${index}.`);
    const shares = split(this.options.concurrency, queues.length);
    await Promise.all(
      queues.map((name, k) => {
        const worker = this.backend.newWorker(name, async (job) => handler(job.data, { restored: null }), workerOptions({ ...this.options, concurrency: shares[k]! }));
        // Job ids count per queue ("1", "2", … in each): the queue name keeps them unique.
        return this.track(worker, onCompleted, `${name}:`);
      }),
    );
  }

  private async track(worker: BullWorker, onCompleted: (jobId: string) => void, idPrefix: string): Promise<void> {
    this.workers.push(worker);
    worker.on('error', () => undefined);
    worker.on('completed', (job) => {
      if (job.id) onCompleted(`${idPrefix}${job.id}`);
    });
    await worker.waitUntilReady();
  }

  async stopWorker(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.close()));
  }

  backendBytes(): Promise<number | null> {
    return this.backend.bytes();
  }

  backendRecords(): Promise<number | null> {
    return this.backend.records();
  }

  async close(): Promise<void> {
    await this.stopWorker();
    for (const q of [this.backend.queue, ...this.backend.routed.values()]) await q.close();
    await this.backend.release();
  }
}
