// BullMQ on its PostgreSQL backend (built into bullmq 6, selected with createPostgresBackend), on
// the same Postgres as Baton's adapter, pg-boss and graphile-worker. The Queue / Worker calls,
// retention and stall mapping are those of the Redis row (bullmq-common.ts); what differs is the
// connection, set up as its PostgreSQL guide advises: a schema of its own per namespace, migrations
// run explicitly (once, by the Queue), and a worker pool as large as the worker's concurrency.
import { createPostgresBackend, withBackend } from 'bullmq';
import { DATABASE_URL, assertLoopback, dropSchema, pgSchemaBytes, pgSchemaRows, probePostgres } from '../services.js';
import { BullInstance, QUEUE, routedQueues, type BullBackend, type Data } from './bullmq-common.js';
import type { Instance, OpenOptions, ScenarioId, System } from './types.js';

const { Queue, Worker } = withBackend(createPostgresBackend);

export const BULLMQ_POSTGRES: System = {
  id: 'bullmq-postgres',
  label: 'BullMQ (Postgres)',
  kind: 'peer',
  family: 'postgres',
  settings:
    'BullMQ 6.7 PostgreSQL backend (createPostgresBackend); Queue.add / Queue.addBulk; one Worker, concurrency 50 (10 in scenario 4); connection { connectionString, schema: the namespace }; the Queue runs the migrations (migrate: true), pool max 10 (pg default); the Worker pool max = its concurrency (the guide\'s "enough pool connections for its concurrency") plus its own LISTEN connection; removeOnComplete { count: 10000 }, removeOnFail { count: 100000 }; checkpoint = job.updateData; scenario 6: lockDuration = stalledInterval = the stall timeout; scenario 8: as BullMQ on Redis (a Queue per named queue, one Worker per served queue, 25 split 13 + 12, priority high = 1, normal = 2), each Worker\'s pool max = its share; server defaults (synchronous_commit on)',
  probe: probePostgres,
  unsupported: (_s: ScenarioId) => null,
  async open(ns: string, options: OpenOptions): Promise<Instance> {
    assertLoopback(DATABASE_URL);
    const queue = new Queue<Data>(QUEUE, { connection: { connectionString: DATABASE_URL, schema: ns, migrate: true } });
    await queue.waitUntilReady();
    // Scenario 8's queues: the same connection settings, minus the migrations the Queue above ran.
    const routed = await routedQueues(options, (name) => new Queue<Data>(name, { connection: { connectionString: DATABASE_URL, schema: ns } }));
    const backend: BullBackend = {
      queue,
      routed,
      newWorker: (name, processor, opts) =>
        new Worker<Data>(name, processor, { ...opts, connection: { connectionString: DATABASE_URL, schema: ns, max: opts.concurrency } }),
      bytes: () => pgSchemaBytes(ns),
      records: () => pgSchemaRows(ns),
      // Queue and Worker own the pools they built from a config, and end them on close().
      release: async () => undefined,
    };
    return new BullInstance(backend, options);
  },
  destroy: (ns) => dropSchema(ns),
};
