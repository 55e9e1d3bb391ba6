// Migrations: applied once under the advisory lock however many processes start together,
// recorded in the ledger, refused on a newer or foreign schema; the SQL for DBAs does the same
// (`baton migrate` of @baton/cli is tested there).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, SchemaError, createBaton, silentLogger, type Baton } from '@baton/core';
import { MIGRATIONS, SCHEMA_VERSION, migrate, migrationSql, postgresBackend, type PostgresBackend } from '@baton/postgres';
import { LEDGER_TABLE, schemaVersion } from '../src/postgres-migrations.js';
import { schemaNames } from '../src/schema.js';
import { DATABASE_URL, dropSchema, newPool, randomSchema, reachable, skipReason } from './helpers.js';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('embedded migrations', () => {
  it('src/migrations.generated.ts matches migrations/postgres/*.sql (npm run generate)', async () => {
    await run(process.execPath, ['../../scripts/embed-files.mjs', '../../migrations/postgres', 'sql', 'src/migrations.generated.ts', '--check'], { cwd: pkg });
  });

  it('are numbered, forward-only files with the schema placeholder', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    for (const m of MIGRATIONS) {
      expect(m.name).toMatch(/^\d{6}_[a-z0-9_]+\.sql$/);
      expect(m.sql).toContain(':SCHEMA:');
    }
  });

  it('migrationSql() quotes the schema, records every migration in the ledger and leaves no placeholder', () => {
    const sql = migrationSql('tenant_a');
    expect(sql).not.toContain(':SCHEMA:');
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "tenant_a"');
    for (const m of MIGRATIONS) expect(sql).toContain(`VALUES (${m.version}, '${m.name}')`);
    expect(migrationSql('tenant_a', { afterVersion: SCHEMA_VERSION })).not.toContain('CREATE TABLE "tenant_a".tasks');
  });

  it('refuses schema names that are not plain identifiers before any SQL is built', () => {
    for (const bad of ['Baton', 'a-b', 'x"; DROP TABLE t; --', '', '1abc', 'a'.repeat(49)]) {
      expect(() => migrationSql(bad)).toThrow(ConfigError);
      expect(() => postgresBackend(DATABASE_URL, { schema: bad })).toThrow(ConfigError);
    }
  });
});

/** A schema as a deployment of an earlier release left it: migrations 1..`version` applied by hand, in its ledger. */
async function schemaAtVersion(pool: pg.Pool, S: string, version: number): Promise<void> {
  await pool.query(`CREATE SCHEMA ${S}; CREATE TABLE ${S}.${LEDGER_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    await pool.query(m.sql.replaceAll(':SCHEMA:', S));
    await pool.query(`INSERT INTO ${S}.${LEDGER_TABLE} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
  }
}

/** The 20 queued tasks and the stranded running one of an upgraded schema all complete; the stranded one after one recovery. */
async function upgradedTasksComplete(baton: Baton, backend: PostgresBackend): Promise<void> {
  for (const id of [...Array.from({ length: 20 }, (_, i) => `queued-${i + 1}`), 'stranded']) {
    const done = await baton.waitFor(id, { timeoutMs: 20_000 });
    expect(done.state, id).toBe('completed');
    expect(done.result).toEqual({ doubled: (done.input as { n: number }).n * 2 });
  }
  expect((await backend.tasks.get('stranded'))?.recoveries).toBe(1);
}

describe.skipIf(!reachable)(`migrate against PostgreSQL ${skipReason}`, () => {
  const schemas: string[] = [];
  const fresh = () => {
    const s = randomSchema('mig');
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('applies every migration once and records it; a second run applies nothing', async () => {
    const schema = fresh();
    const pool = newPool();
    try {
      expect(await migrate(pool, { schema })).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: SCHEMA_VERSION });
      expect(await migrate(pool, { schema })).toEqual({ applied: [], version: SCHEMA_VERSION });
      const { rows } = await pool.query(`SELECT version, name FROM "${schema}".${LEDGER_TABLE} ORDER BY version`);
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      const objects = await pool.query(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') ORDER BY 1`,
        [schema],
      );
      expect(objects.rows.map((r: { relname: string }) => r.relname)).toEqual(
        expect.arrayContaining([
          'tasks', 'checkpoints', 'events', 'timers', 'deliveries', 'heartbeats', 'idempotency_keys', 'queue_settings', 'coordination',
          'active_tasks', 'task_stats_by_phase', 'task_stats_by_queue', 'pending_timers',
        ]),
      );
      const fns = await pool.query(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`, [schema]);
      expect(fns.rows.map((r: { proname: string }) => r.proname)).toEqual(
        expect.arrayContaining(['claim', 'next_due', 'cleanup_fired_timers', 'cleanup_old_checkpoints', 'cleanup_old_events']),
      );
    } finally {
      await pool.end();
    }
  });

  it('upgrades a populated version-1 schema in place: its tasks run to completion, queued ones in queue default', async () => {
    const schema = fresh();
    const S = `"${schema}"`;
    const pool = newPool(4);
    try {
      await schemaAtVersion(pool, S, 1);
      await pool.query(`
        INSERT INTO ${S}.tasks (id, type, input, idempotency_key, q_ready_at)
        SELECT 'queued-' || g, 'job', jsonb_build_object('n', g, 'tag', 'v1'), 'key-' || g, now() - g * interval '1 ms' FROM generate_series(1, 20) g;
        -- A run whose worker died before the upgrade: leased and running, its lease long expired.
        INSERT INTO ${S}.tasks (id, type, input, idempotency_key, state, lease_id, worker_id, started_at, q_ready_at, q_lease_id, q_lease_expires_at)
        VALUES ('stranded', 'job', '{"n": 100}', 'key-stranded', 'running', 'old-lease', 'old-worker', now() - interval '1 hour', now() - interval '1 hour', 'old-lease', now() - interval '10 minutes');
        INSERT INTO ${S}.tasks (id, type, input, idempotency_key, state, result, error, finished_at)
        VALUES ('finished', 'job', '{"n": 0}', 'key-finished', 'completed', '{"ok": true, "items": [1, 2]}', NULL, now()),
               ('failed', 'job', '{"n": -1}', 'key-failed', 'dead', NULL, '{"name": "Error", "message": "boom", "code": null, "stack": null}', now());
        INSERT INTO ${S}.idempotency_keys (key, task_id, expires_at) SELECT idempotency_key, id, now() + interval '1 day' FROM ${S}.tasks;
        INSERT INTO ${S}.events (id, type, at, task_id, data) SELECT 'ev-' || g, 'task.enqueued', now(), 'queued-' || g, '{"v": 1}' FROM generate_series(1, 20) g;
        INSERT INTO ${S}.timers (id, kind, due_at, payload, name) VALUES ('old-timer', 'custom', now() - interval '1 minute', '{"from": "v1"}', 'legacy');`);
      const before = await pool.query(`SELECT max(seq)::float8 AS seq FROM ${S}.events`);

      expect(await migrate(pool, { schema })).toEqual({ applied: MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version), version: SCHEMA_VERSION });

      const backend = postgresBackend(pool, { schema, migrate: false });
      await backend.ready({ logger: silentLogger });
      expect(await backend.tasks.get('queued-7')).toMatchObject({ queue: 'default', priority: 0, group: null, state: 'pending', input: { n: 7, tag: 'v1' }, progress: null, traceContext: null });
      expect(await backend.tasks.get('finished')).toMatchObject({ state: 'completed', result: { ok: true, items: [1, 2] }, corruption: null });
      expect(await backend.tasks.get('failed')).toMatchObject({ state: 'dead', error: { name: 'Error', message: 'boom', code: null, stack: null } });
      expect((await backend.queue.queues()).map((q) => [q.name, q.depth.ready, q.depth.expired])).toEqual([['default', 20, 1]]);
      expect((await backend.timers.list({ ids: ['old-timer'], limit: 10 }))[0]?.payload).toEqual({ from: 'v1' });
      // The event log goes on after the rows version 1 wrote.
      const old = await backend.events.query({ type: ['task.enqueued'], limit: 100 });
      expect(old.map((e) => e.data)).toEqual(Array.from({ length: 20 }, () => ({ v: 1 })));

      const baton = createBaton({ backend, logger: silentLogger, worker: { concurrency: 4, pollIntervalMs: 50, stallTimeoutMs: 1_000 } });
      baton.register('job', (input) => ({ doubled: (input as { n: number }).n * 2 }));
      try {
        await baton.start();
        await upgradedTasksComplete(baton, backend);
      } finally {
        await baton.close();
      }
      const after = await backend.events.query({ after: Number(before.rows[0].seq), limit: 1000 });
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((e) => e.type === 'task.completed').map((e) => e.taskId)).toContain('stranded');
      await backend.close();
    } finally {
      await pool.end();
    }
  }, 60_000);

  it('upgrades a populated version-2 schema in place: keys compare bytewise, views keep their grants, tasks run, keys still dedupe', async () => {
    const schema = fresh();
    const S = `"${schema}"`;
    const role = `baton_view_${schema.slice(-8)}`;
    const pool = newPool(4);
    try {
      await schemaAtVersion(pool, S, 2);
      await pool.query(`
        INSERT INTO ${S}.tasks (id, type, queue, priority, input, idempotency_key, q_ready_at)
        SELECT 'queued-' || g, 'job', CASE WHEN g % 2 = 0 THEN 'Reports' ELSE 'default' END, g % 3, '{"n": ' || g || '}', 'key-' || g, now() - g * interval '1 ms'
        FROM generate_series(1, 20) g;
        INSERT INTO ${S}.tasks (id, type, input, idempotency_key, state, lease_id, worker_id, started_at, heartbeat_at, q_ready_at, q_lease_id, q_lease_expires_at)
        VALUES ('stranded', 'job', '{"n": 100}', 'key-stranded', 'running', 'old-lease', 'old-worker', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 'old-lease', now() - interval '10 minutes');
        INSERT INTO ${S}.tasks (id, type, input, idempotency_key, state, result, finished_at)
        VALUES ('finished', 'job', '{"n": 0}', 'key-finished', 'completed', '{"ok":true}', now());
        INSERT INTO ${S}.idempotency_keys (key, task_id, expires_at) SELECT idempotency_key, id, now() + interval '1 day' FROM ${S}.tasks;
        INSERT INTO ${S}.events (seq, id, type, at, task_id, data) SELECT g, 'ev-' || g, 'task.enqueued', now(), 'queued-' || g, '{}' FROM generate_series(1, 20) g;
        INSERT INTO ${S}.queue_settings (name, concurrency) VALUES ('Reports', 3);
        CREATE ROLE ${role};
        GRANT USAGE ON SCHEMA ${S} TO ${role};
        GRANT SELECT ON ${S}.active_tasks, ${S}.task_stats_by_queue TO ${role};`);

      expect(await migrate(pool, { schema })).toEqual({ applied: MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version), version: SCHEMA_VERSION });

      const { rows: collations } = await pool.query(
        `SELECT table_name || '.' || column_name AS c, collation_name FROM information_schema.columns
          WHERE table_schema = $1 AND (table_name, column_name) IN (('tasks', 'id'), ('tasks', 'queue'), ('events', 'task_id'), ('idempotency_keys', 'key'))
          ORDER BY 1`,
        [schema],
      );
      expect(collations).toEqual(['events.task_id', 'idempotency_keys.key', 'tasks.id', 'tasks.queue'].map((c) => ({ c, collation_name: 'C' })));
      const { rows: grants } = await pool.query(
        `SELECT has_table_privilege($1, $2 || '.active_tasks', 'SELECT') AS active, has_table_privilege($1, $2 || '.task_stats_by_queue', 'SELECT') AS stats,
                has_table_privilege($1, $2 || '.pending_timers', 'SELECT') AS timers`,
        [role, S],
      );
      expect(grants).toEqual([{ active: true, stats: true, timers: false }]);
      expect((await pool.query(`SELECT queue, pending::int FROM ${S}.task_stats_by_queue ORDER BY queue`)).rows).toEqual([
        { queue: 'Reports', pending: 10 },
        { queue: 'default', pending: 10 },
      ]);

      const backend = postgresBackend(pool, { schema, migrate: false });
      const baton = createBaton({ backend, logger: silentLogger, worker: { concurrency: 4, pollIntervalMs: 50, stallTimeoutMs: 1_000 } });
      baton.register('job', (input) => ({ doubled: (input as { n: number }).n * 2 }), { queue: 'default' });
      baton.register('job-reports', () => null, { queue: 'Reports' });
      try {
        // A key written before the upgrade still maps to its task.
        expect(await baton.enqueue('job', { n: 7 }, { key: 'key-7' })).toEqual({ taskId: 'queued-7', duplicate: true, key: 'key-7' });
        expect((await backend.queue.queues()).map((q) => [q.name, q.depth.ready])).toEqual([['Reports', 10], ['default', 10]]);
        await baton.start();
        await upgradedTasksComplete(baton, backend);
      } finally {
        await baton.close();
        await backend.close();
      }
    } finally {
      await pool.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await pool.end();
    }
  }, 60_000);

  it('version 4 refuses to patch a claim() edited by hand, and leaves the schema at version 3', async () => {
    const schema = fresh();
    const S = `"${schema}"`;
    const pool = newPool(2);
    try {
      await schemaAtVersion(pool, S, 3);
      // A DBA's edit of the very clause version 4 changes.
      await pool.query(`DO $do$ BEGIN
        EXECUTE replace(pg_get_functiondef('${S}.claim(text[], integer, double precision, text, boolean)'::regprocedure),
          'AND t.id = o.tid AND t.state = ''pending''', 'AND t.id = o.tid AND t.state IN (''pending'')');
      END $do$`);
      await expect(migrate(pool, { schema })).rejects.toThrow(/claim\(\) is not the function migration 2 created .*edited by hand/);
      expect((await pool.query(`SELECT max(version) AS v FROM ${S}.${LEDGER_TABLE}`)).rows).toEqual([{ v: 3 }]);
    } finally {
      await pool.end();
    }
  });

  it('ten processes migrating at once apply each migration exactly once', async () => {
    const schema = fresh();
    // One pool per "process": separate sessions racing for the advisory lock.
    const pools = Array.from({ length: 10 }, () => newPool(2));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool, { schema })));
      expect(results.every((r) => r.version === SCHEMA_VERSION)).toBe(true);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(MIGRATIONS.map((m) => m.version));
      const { rows } = await pools[0]!.query(`SELECT count(*)::int AS n FROM "${schema}".${LEDGER_TABLE}`);
      expect(rows[0].n).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('ten backends starting at once on a fresh schema all become ready', async () => {
    const schema = fresh();
    const pools = Array.from({ length: 10 }, () => newPool(3));
    const backends = pools.map((pool) => postgresBackend(pool, { schema }));
    try {
      await Promise.all(backends.map((b) => b.ready({ logger: silentLogger })));
      expect(await schemaVersion(pools[0]!, schemaNames(schema))).toBe(SCHEMA_VERSION);
    } finally {
      await Promise.all(backends.map((b) => b.close()));
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a schema newer than this code, for migrate and for a backend', async () => {
    const schema = fresh();
    const pool = newPool();
    try {
      await migrate(pool, { schema });
      await pool.query(`INSERT INTO "${schema}".${LEDGER_TABLE} (version, name) VALUES ($1, 'from_the_future.sql')`, [SCHEMA_VERSION + 1]);
      await expect(migrate(pool, { schema })).rejects.toThrow(SchemaError);
      await expect(migrate(pool, { schema })).rejects.toThrow(/newer than this @baton\/postgres/);
      for (const migrateOption of [true, false]) {
        const b = postgresBackend(pool, { schema, migrate: migrateOption });
        await expect(b.tasks.get('x')).rejects.toThrow(SchemaError);
        await b.close();
      }
    } finally {
      await pool.end();
    }
  });

  it('with migrate: false refuses an unmigrated schema, and accepts one a DBA built from migrationSql()', async () => {
    const schema = fresh();
    const pool = newPool();
    try {
      const before = postgresBackend(pool, { schema, migrate: false });
      await expect(before.ready({ logger: silentLogger })).rejects.toThrow(SchemaError);
      await expect(before.ready({ logger: silentLogger })).rejects.toThrow(/baton --backend .* migrate/);
      await before.close();

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(migrationSql(schema));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const after = postgresBackend(pool, { schema, migrate: false });
      await after.ready({ logger: silentLogger });
      expect(await after.tasks.get('nothing')).toBeNull();
      await after.close();
      expect(await migrate(pool, { schema })).toEqual({ applied: [], version: SCHEMA_VERSION });
    } finally {
      await pool.end();
    }
  });

  it('refuses a schema that holds tables of the same names without a ledger (not a Baton schema)', async () => {
    const schema = fresh();
    const pool = newPool();
    try {
      await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".tasks (id int)`);
      await expect(migrate(pool, { schema })).rejects.toThrow(/not a Baton schema/);
      const { rows } = await pool.query('SELECT to_regclass($1) AS t', [`"${schema}".${LEDGER_TABLE}`]);
      expect(rows[0].t).toBeNull();
    } finally {
      await pool.end();
    }
  });

  it('a runtime role with only the README grants (no DDL) runs tasks with migrate: false', async () => {
    const schema = fresh();
    const role = `baton_rt_${schema.slice(-8)}`;
    const pool = newPool(2);
    const url = new URL(DATABASE_URL);
    url.username = role;
    url.password = '';
    const runtimePool = new pg.Pool({ connectionString: url.toString(), max: 3 });
    runtimePool.on('error', () => undefined);
    try {
      await migrate(pool, { schema });
      await pool.query(`CREATE ROLE ${role} LOGIN`);
      await pool.query(`
        GRANT USAGE ON SCHEMA "${schema}" TO ${role};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role};
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA "${schema}" TO ${role};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role};`);
      const backend = postgresBackend(runtimePool, { schema, migrate: false });
      const baton = createBaton({ backend, worker: { concurrency: 2, pollIntervalMs: 100 } });
      baton.register('hello', (input) => ({ hi: (input as { name: string }).name }));
      try {
        const { taskId } = await baton.enqueue('hello', { name: 'runtime' });
        await baton.start();
        expect(await baton.waitFor(taskId, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed', result: { hi: 'runtime' } });
        // The runtime role cannot change the schema.
        await expect(runtimePool.query(`CREATE TABLE "${schema}".nope (id int)`)).rejects.toThrow(/permission denied/);
      } finally {
        await baton.close();
      }
    } finally {
      await runtimePool.end();
      await pool.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await pool.end();
    }
  });
});
