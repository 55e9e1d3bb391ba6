// pg-boss 12 on the same Postgres, set up for throughput with the options v12 provides: one
// work() whose batchSize is the scenario's concurrency, the batch's handlers run at once (the
// maintainer's pattern in timgit/pg-boss#542, so never more than `concurrency` run together),
// burstWhenBatchFull so a full batch is followed by the next fetch without the polling delay,
// LISTEN/NOTIFY (useListenNotify + the queue's notify) so a new job wakes an idle worker, and
// the minimum polling interval.
// send() for single jobs, insert() for batches. Everything else default.
// Scenario 8: a queue per name (createQueue, insert() per queue with pg-boss's `priority`: higher
// first, so high = 1 and normal = 0), and each fleet worker a PgBoss instance of its own (its own
// pool, as a separate process) with one work() per queue it serves. A work() call's batch is its
// own, so the fleet worker's concurrency is split between its queues (25 → 13 + 12).
import { PgBoss } from 'pg-boss';
import type { Payload } from '../payload.js';
import { DATABASE_URL, assertLoopback, dropSchema, pgSchemaBytes, pgSchemaRows, probePostgres, quoteIdent, withPg } from '../services.js';
import { split } from './fleet.js';
import { ROUTED_QUEUES, type Instance, type JobHandler, type OpenOptions, type RoutedJob, type RoutedQueue, type ScenarioId, type System } from './types.js';

const QUEUE = 'bench';
const PRIORITY = { high: 1, normal: 0 } as const;
// pg-boss's floor, also while NOTIFY is on: a job retried after expiry (scenario 6) sends no
// NOTIFY, so the default 30 s backstop would be what recovery measures.
const POLL_SECONDS = 0.5;

interface FleetWorker {
  boss: PgBoss;
  queues: readonly RoutedQueue[];
}

class BossInstance implements Instance {
  constructor(
    private readonly ns: string,
    private readonly boss: PgBoss,
    private readonly options: OpenOptions,
    private readonly fleet: readonly FleetWorker[],
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.boss.send(QUEUE, payload);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.boss.insert(
      QUEUE,
      payloads.map((data) => ({ data })),
    );
  }

  async enqueueRouted(jobs: RoutedJob[]): Promise<void> {
    for (const name of ROUTED_QUEUES) {
      const mine = jobs.filter((j) => j.queue === name);
      if (mine.length > 0) await this.boss.insert(name, mine.map((j) => ({ data: j.payload, priority: PRIORITY[j.priority] })));
    }
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    await work(this.boss, QUEUE, this.options.concurrency, handler, onCompleted);
  }

  async startRoutedWorker(index: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const worker = this.fleet[index];
    if (!worker) throw new Error(`No fleet worker ${index}: open() was given ${this.fleet.length}.`);
    const shares = split(this.options.concurrency, worker.queues.length);
    await Promise.all(worker.queues.map((name, k) => work(worker.boss, name, shares[k]!, handler, onCompleted)));
  }

  async allSettled(): Promise<boolean> {
    const schema = quoteIdent(this.ns);
    return withPg(async (c) => {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from ${schema}.job where name = any($1) and state in ('created', 'retry', 'active')`, [[QUEUE, ...ROUTED_QUEUES]]);
      return rows[0]?.n === 0;
    });
  }

  async stopWorker(): Promise<void> {
    await this.boss.offWork(QUEUE);
    await Promise.all(this.fleet.flatMap((w) => w.queues.map((name) => w.boss.offWork(name))));
  }

  backendBytes(): Promise<number | null> {
    return pgSchemaBytes(this.ns);
  }

  backendRecords(): Promise<number | null> {
    return pgSchemaRows(this.ns);
  }

  async close(): Promise<void> {
    for (const w of this.fleet) await w.boss.stop({ graceful: true, timeout: 5_000, close: true });
    await this.boss.stop({ graceful: true, timeout: 5_000, close: true });
  }
}

/** One work() on `queue`: batches of `batchSize` (the worker's concurrency), run at once. */
async function work(boss: PgBoss, queue: string, batchSize: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
  const options = {
    batchSize,
    burstWhenBatchFull: true,
    pollingIntervalSeconds: POLL_SECONDS,
    notifyPollingIntervalSeconds: POLL_SECONDS,
  };
  await boss.work<Payload>(queue, options, async (jobs) => {
    await Promise.all(
      jobs.map(async (job) => {
        await handler(job.data, { restored: null });
        // pg-boss completes the batch once this handler returns; allSettled() confirms it did.
        onCompleted(job.id);
      }),
    );
  });
}

/** A started PgBoss on the namespace's schema (the stall settings of scenario 6 when given). */
async function startBoss(ns: string, stallSeconds: number | null): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: DATABASE_URL,
    schema: ns,
    useListenNotify: true,
    // v12 expires jobs in its supervise pass, gated by the monitor interval (both 60 s by default).
    ...(stallSeconds ? { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } : {}),
  });
  boss.on('error', () => undefined);
  await boss.start();
  return boss;
}

export const PG_BOSS: System = {
  id: 'pg-boss',
  label: 'pg-boss',
  kind: 'peer',
  family: 'postgres',
  settings:
    'pg-boss 12 (declares Node ≥ 22.12; runs here on Node 20); send() / insert(); createQueue with notify: true, policy standard; useListenNotify: true; one work() with batchSize = concurrency (50, or 10 in scenario 4), burstWhenBatchFull: true, pollingIntervalSeconds and notifyPollingIntervalSeconds 0.5 (the minimum; an expired job\'s retry sends no NOTIFY), the batch run at once (Promise.all); pool max 10 (default); scenario 6: queue expireInSeconds = the stall timeout, superviseIntervalSeconds 1 and monitorIntervalSeconds 1 (the pass that retries expired jobs); scenario 8: createQueue per named queue (notify: true), insert() per queue with priority high = 1, normal = 0 (higher first), each fleet worker its own PgBoss (pool max 10) with one work() per queue it serves, batchSize = the worker\'s 25 split 13 + 12',
  probe: probePostgres,
  unsupported: (s: ScenarioId) => (s === 5 ? 'no checkpoint API' : null),
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    assertLoopback(DATABASE_URL);
    const stallSeconds = options.stallTimeoutMs ? Math.max(1, Math.round(options.stallTimeoutMs / 1000)) : null;
    const boss = await startBoss(ns, stallSeconds);
    await boss.createQueue(QUEUE, { notify: true, ...(stallSeconds ? { expireInSeconds: stallSeconds } : {}) });
    const fleet: FleetWorker[] = [];
    if (options.fleet) {
      for (const name of ROUTED_QUEUES) await boss.createQueue(name, { notify: true });
      // Started (schema checked, maintenance set up) before any timing, like the instance above.
      for (const queues of options.fleet) fleet.push({ boss: await startBoss(ns, stallSeconds), queues });
    }
    return new BossInstance(ns, boss, options, fleet);
  },
  destroy: (ns) => dropSchema(ns),
};
