// graphile-worker 0.17 on the same Postgres, configured like its own performance page:
// concurrency = the scenario's, pool = concurrency + 2, localQueue { size: 500 },
// completeJobBatchDelay 0, failJobBatchDelay 0, prepared statements on, LISTEN/NOTIFY wake
// (pollInterval 2000 ms, the default, only for future-dated jobs). addJob / addJobs.
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { Payload } from '../payload.js';
import { DATABASE_URL, assertLoopback, dropSchema, pgSchemaBytes, pgSchemaRows, probePostgres, quoteIdent, withPg } from '../services.js';
import type { Instance, JobHandler, OpenOptions, ScenarioId, System } from './types.js';

const TASK = 'bench';
const silent = new Logger(() => () => undefined);

class GraphileInstance implements Instance {
  private runner: Runner | null = null;

  constructor(
    private readonly ns: string,
    private readonly pool: pg.Pool,
    private readonly utils: WorkerUtils,
    private readonly options: OpenOptions,
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.utils.addJob(TASK, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload })));
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    this.runner = await run({
      pgPool: this.pool,
      schema: this.ns,
      concurrency: this.options.concurrency,
      pollInterval: 2_000,
      noHandleSignals: true,
      logger: silent,
      taskList: {
        [TASK]: async (payload) => {
          await handler(payload as Payload, { restored: null });
        },
      },
      preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0, preparedStatements: true } },
    });
    // Emitted before the (batched) completion is written; allSettled() confirms it landed.
    this.runner.events.on('job:success', ({ job }) => onCompleted(job.id));
  }

  async allSettled(): Promise<boolean> {
    const schema = quoteIdent(this.ns);
    return withPg(async (c) => {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from ${schema}._private_jobs where attempts < max_attempts`);
      return rows[0]?.n === 0;
    });
  }

  async stopWorker(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
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
    await this.pool.end();
  }
}

export const GRAPHILE_WORKER: System = {
  id: 'graphile-worker',
  label: 'graphile-worker',
  kind: 'peer',
  family: 'postgres',
  settings:
    'addJob / addJobs (WorkerUtils); run() with concurrency 50 (10 in scenario 4), pg pool max = concurrency + 2, localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0 (its performance page\'s settings), preparedStatements on, pollInterval 2000 (default; new jobs wake workers by LISTEN/NOTIFY)',
  probe: probePostgres,
  unsupported: (s: ScenarioId) => {
    if (s === 5) return 'no checkpoint API';
    if (s === 6) return "a killed worker's jobs stay locked for 4 h (fixed in 0.17)";
    return null;
  },
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    assertLoopback(DATABASE_URL);
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: Math.max(10, options.concurrency + 2) });
    // graphile-worker checks for both handlers: an idle or checked-out client that dies must not crash the process.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const utils = await makeWorkerUtils({ pgPool: pool, schema: ns, logger: silent });
    await utils.migrate();
    return new GraphileInstance(ns, pool, utils, options);
  },
  destroy: (ns) => dropSchema(ns),
};
