// graphile-worker 0.18 on the same Postgres, configured like its own performance page:
// concurrency = the scenario's, pool = the larger of 10 and concurrency + 2 (maxPoolSize's own
// advice), localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0, prepared
// statements on, LISTEN/NOTIFY wake (pollInterval 2000 ms, the default, only for future-dated
// jobs). addJob / addJobs.
// Scenario 8 routes by task identifier, graphile-worker's own mechanism: a task identifier per
// named queue, and each fleet worker a run() whose task list holds only its queues' identifiers
// (a runner fetches only jobs it has a task for), with a pool of its own sized as above. Its
// `queueName` is not used: a named queue there runs its jobs one at a time (serial), not routing.
// Priority: lower runs first, so high = -1 and normal = 0 (the default).
import { Logger, makeWorkerUtils, run, type Runner, type TaskList, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { Payload } from '../payload.js';
import { DATABASE_URL, assertLoopback, dropSchema, pgSchemaBytes, pgSchemaRows, probePostgres, quoteIdent, withPg } from '../services.js';
import type { Instance, JobHandler, OpenOptions, RoutedJob, RoutedQueue, ScenarioId, System } from './types.js';

const TASK = 'bench';
const PRIORITY = { high: -1, normal: 0 } as const;
const routedTask = (queue: RoutedQueue) => `bench_${queue}`;
const silent = new Logger(() => () => undefined);

/** The pool one run() gets: the larger of 10 and concurrency + 2 (maxPoolSize's advice). */
function newPool(concurrency: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: Math.max(10, concurrency + 2) });
  // graphile-worker checks for both handlers: an idle or checked-out client that dies must not crash the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

interface FleetWorker {
  pool: pg.Pool;
  queues: readonly RoutedQueue[];
}

class GraphileInstance implements Instance {
  private runners: Runner[] = [];

  constructor(
    private readonly ns: string,
    private readonly pool: pg.Pool,
    private readonly utils: WorkerUtils,
    private readonly options: OpenOptions,
    private readonly fleet: readonly FleetWorker[],
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.utils.addJob(TASK, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload })));
  }

  async enqueueRouted(jobs: RoutedJob[]): Promise<void> {
    await this.utils.addJobs(jobs.map((j) => ({ identifier: routedTask(j.queue), payload: j.payload, priority: PRIORITY[j.priority] })));
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    await this.runWith(this.pool, [TASK], handler, onCompleted);
  }

  async startRoutedWorker(index: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const worker = this.fleet[index];
    if (!worker) throw new Error(`No fleet worker ${index}: open() was given ${this.fleet.length}.`);
    await this.runWith(worker.pool, worker.queues.map(routedTask), handler, onCompleted);
  }

  /** One run() that knows only `tasks`, each running `handler`. */
  private async runWith(pool: pg.Pool, tasks: string[], handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const taskList: TaskList = {};
    for (const t of tasks) {
      taskList[t] = async (payload) => {
        await handler(payload as Payload, { restored: null });
      };
    }
    const runner = await run({
      pgPool: pool,
      schema: this.ns,
      concurrency: this.options.concurrency,
      pollInterval: 2_000,
      noHandleSignals: true,
      logger: silent,
      taskList,
      preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0, preparedStatements: true } },
    });
    this.runners.push(runner);
    // Emitted before the (batched) completion is written; allSettled() confirms it landed.
    runner.events.on('job:success', ({ job }) => onCompleted(job.id));
  }

  async allSettled(): Promise<boolean> {
    const schema = quoteIdent(this.ns);
    return withPg(async (c) => {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from ${schema}._private_jobs where attempts < max_attempts`);
      return rows[0]?.n === 0;
    });
  }

  async stopWorker(): Promise<void> {
    const runners = this.runners;
    this.runners = [];
    await Promise.all(runners.map((r) => r.stop()));
  }

  backendBytes(): Promise<number | null> {
    return pgSchemaBytes(this.ns);
  }

  backendRecords(): Promise<number | null> {
    return pgSchemaRows(this.ns);
  }

  async close(): Promise<void> {
    await this.stopWorker();
    await this.utils.release();
    for (const w of this.fleet) await w.pool.end();
    await this.pool.end();
  }
}

export const GRAPHILE_WORKER: System = {
  id: 'graphile-worker',
  label: 'graphile-worker',
  kind: 'peer',
  family: 'postgres',
  settings:
    'graphile-worker 0.18 (declares Node ≥ 22.18; runs here on Node 20); addJob / addJobs (WorkerUtils); run() with concurrency 50 (10 in scenario 4), pg pool max = max(10, concurrency + 2), localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0 (its performance page\'s settings), preparedStatements on, pollInterval 2000 (default; new jobs wake workers by LISTEN/NOTIFY); scenario 8: a task identifier per named queue (its routing: queueName would serialise the jobs), each fleet worker one run() with its two queues\' identifiers, concurrency 25, a pool of its own (max 27), priority high = -1, normal = 0 (lower first)',
  probe: probePostgres,
  unsupported: (s: ScenarioId) => {
    if (s === 5) return 'no checkpoint API';
    if (s === 6) return "a killed worker's jobs stay locked for 4 h (not configurable in 0.18)";
    return null;
  },
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    assertLoopback(DATABASE_URL);
    const pool = newPool(options.concurrency);
    const utils = await makeWorkerUtils({ pgPool: pool, schema: ns, logger: silent });
    await utils.migrate();
    const fleet = (options.fleet ?? []).map((queues) => ({ pool: newPool(options.concurrency), queues }));
    return new GraphileInstance(ns, pool, utils, options, fleet);
  },
  destroy: (ns) => dropSchema(ns),
};
