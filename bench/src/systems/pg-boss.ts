// pg-boss v10 on the same Postgres. v10 has no teamSize: concurrency is one work() poller per
// slot (the maintainer's recommended pattern), each fetching with batchSize 1 at the minimum
// polling interval (0.5 s). send() for single jobs, insert() for batches. Everything else default.
import PgBoss from 'pg-boss';
import type { Payload } from '../payload.js';
import { DATABASE_URL, assertLoopback, dropSchema, pgSchemaBytes, pgSchemaRows, probePostgres, quoteIdent, withPg } from '../services.js';
import type { Instance, JobHandler, OpenOptions, ScenarioId, System } from './types.js';

const QUEUE = 'bench';
const POLL_SECONDS = 0.5; // pg-boss's floor (MIN_POLLING_INTERVAL_MS = 500)

class BossInstance implements Instance {
  constructor(
    private readonly ns: string,
    private readonly boss: PgBoss,
    private readonly options: OpenOptions,
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.boss.send(QUEUE, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.boss.insert(payloads.map((data) => ({ name: QUEUE, data })));
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    for (let k = 0; k < this.options.concurrency; k++) {
      await this.boss.work<Payload>(QUEUE, { batchSize: 1, pollingIntervalSeconds: POLL_SECONDS }, async (jobs) => {
        for (const job of jobs) {
          await handler(job.data, { restored: null });
          // pg-boss completes the batch right after this returns (not awaited by its loop);
          // allSettled() confirms in the table that it did.
          onCompleted(job.id);
        }
      });
    }
  }

  async allSettled(): Promise<boolean> {
    const schema = quoteIdent(this.ns);
    return withPg(async (c) => {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from ${schema}.job where name = $1 and state in ('created', 'retry', 'active')`, [QUEUE]);
      return rows[0]?.n === 0;
    });
  }

  async stopWorker(): Promise<void> {
    await this.boss.offWork(QUEUE);
  }

  backendBytes(): Promise<number | null> {
    return pgSchemaBytes(this.ns);
  }

  backendRecords(): Promise<number | null> {
    return pgSchemaRows(this.ns);
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 5_000, close: true, wait: true });
  }
}

export const PG_BOSS: System = {
  id: 'pg-boss',
  label: 'pg-boss',
  kind: 'peer',
  family: 'postgres',
  settings:
    'send() / insert(); work() called once per concurrency slot (50, or 10 in scenario 4), batchSize 1, pollingIntervalSeconds 0.5 (the minimum); pool max 10 (default); queue policy standard; scenario 6: expireInSeconds = the stall timeout, maintenanceIntervalSeconds 1 (expired jobs are retried)',
  probe: probePostgres,
  unsupported: (s: ScenarioId) => (s === 5 ? 'no checkpoint API' : null),
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    assertLoopback(DATABASE_URL);
    const stallSeconds = options.stallTimeoutMs ? Math.max(1, Math.round(options.stallTimeoutMs / 1000)) : null;
    const boss = new PgBoss({
      connectionString: DATABASE_URL,
      schema: ns,
      ...(stallSeconds ? { expireInSeconds: stallSeconds, maintenanceIntervalSeconds: 1 } : {}),
    });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(QUEUE, stallSeconds ? { name: QUEUE, expireInSeconds: stallSeconds } : { name: QUEUE });
    return new BossInstance(ns, boss, options);
  },
  destroy: (ns) => dropSchema(ns),
};
