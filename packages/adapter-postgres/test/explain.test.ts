// The query paths that run all day must use an index, never read a large table whole: the claim,
// the due-timer claim, the stalled-lease (reclaim) query and the batched completion. The tables
// hold ~20k rows each; plans are checked before statistics exist (a fresh schema under load) and
// after ANALYZE, as custom and as generic (prepared) plans.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, schemaNames } from '@baton/postgres';
import { queueSql } from '../src/postgres-queue.js';
import { finishAndSettleSql } from '../src/postgres-task-flow.js';
import { TIMER_SQL } from '../src/postgres-timer-store.js';
import { withSchema } from '../src/schema.js';
import { dropSchema, newPool, randomSchema, reachable, skipReason } from './helpers.js';

const ROWS = 20_000;
const BIG_TABLES = ['tasks', 'deliveries', 'timers'];

function assertIndexed(plan: string, what: string): void {
  for (const table of BIG_TABLES) {
    if (new RegExp(`Seq Scan on ${table}\\b`).test(plan)) {
      throw new Error(`${what} reads ${table} with a sequential scan:\n${plan}`);
    }
  }
}

describe.skipIf(!reachable)(`query plans over ${ROWS} rows ${skipReason}`, () => {
  const schema = randomSchema('plan');
  const names = schemaNames(schema);
  const pool = newPool(2);
  const S = names.ident;

  beforeAll(async () => {
    await migrate(pool, { schema });
    // A quarter finished, a quarter leased (half of those expired), half ready or delayed.
    await pool.query(`
      INSERT INTO ${S}.tasks (id, type, input, idempotency_key, state, q_ready_at, q_lease_id, q_lease_expires_at, lease_id, finished_at)
      SELECT 't' || g, 'job', '{"n":1}', 'k' || g,
        CASE g % 4 WHEN 0 THEN 'completed' WHEN 1 THEN 'running' ELSE 'pending' END,
        CASE WHEN g % 4 = 0 THEN NULL WHEN g % 4 = 3 THEN now() + interval '1 hour' ELSE now() - g * interval '1 ms' END,
        CASE WHEN g % 4 = 1 THEN 'lease-' || g END,
        CASE WHEN g % 4 = 1 THEN now() + CASE WHEN g % 8 = 1 THEN interval '-1 minute' ELSE interval '1 hour' END END,
        CASE WHEN g % 4 = 1 THEN 'lease-' || g END,
        CASE WHEN g % 4 = 0 THEN now() END
      FROM generate_series(1, ${ROWS}) g`);
    await pool.query(`
      INSERT INTO ${S}.deliveries (task_id, ready_at, lease_id, lease_expires_at)
      SELECT 'd' || g, now() - g * interval '1 ms',
        CASE WHEN g % 2 = 0 THEN 'lease-' || g END,
        CASE WHEN g % 2 = 0 THEN now() + CASE WHEN g % 4 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END END
      FROM generate_series(1, ${ROWS}) g`);
    await pool.query(`
      INSERT INTO ${S}.timers (id, kind, due_at, claimed_until, fired_at, task_id, phase_id)
      SELECT 'tm' || g, 'retry', now() + (g % 100 - 50) * interval '1 minute',
        CASE WHEN g % 10 = 0 THEN now() + interval '1 minute' END,
        CASE WHEN g % 3 = 0 THEN now() END, 't' || g, 'p' || (g % 50)
      FROM generate_series(1, ${ROWS}) g`);
  });

  afterAll(async () => {
    await dropSchema(schema);
    await pool.end();
  });

  /** The plans of everything claim() runs, captured with auto_explain (the body is PL/pgSQL). */
  async function claimPlans(worker: string | null): Promise<string> {
    const client = await pool.connect();
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query(`SET auto_explain.log_min_duration = 0`);
      await client.query(`SET auto_explain.log_nested_statements = on`);
      await client.query(`SET auto_explain.log_level = notice`);
      await client.query('BEGIN');
      const { rows } = await client.query(`SELECT * FROM ${S}.claim(50, 60000, $1)`, [worker]);
      expect(rows.length).toBe(50);
      await client.query('ROLLBACK');
    } finally {
      client.removeAllListeners('notice');
      client.release(true);
    }
    const plan = notices.join('\n');
    expect(plan).toContain('Query Text');
    return plan;
  }

  async function explain(text: string, types: string, args: string): Promise<string[]> {
    const client = await pool.connect();
    const plans: string[] = [];
    try {
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        await client.query(types ? `PREPARE probe(${types}) AS ${text}` : `PREPARE probe AS ${text}`);
        const { rows } = await client.query(args ? `EXPLAIN EXECUTE probe(${args})` : 'EXPLAIN EXECUTE probe');
        plans.push(`-- ${mode}\n${rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}`);
        await client.query('DEALLOCATE probe');
      }
    } finally {
      client.release(true);
    }
    return plans;
  }

  async function checkAll(): Promise<void> {
    for (const worker of ['worker-1', null]) {
      const plan = await claimPlans(worker);
      assertIndexed(plan, `claim(worker ${worker})`);
      expect(plan).toContain('tasks_ready_idx');
      expect(plan).toContain('deliveries_ready_idx');
    }
    const queue = queueSql(names.channel);
    for (const plan of await explain(withSchema(queue.reclaimExpired, names), 'int', '100')) {
      assertIndexed(plan, 'reclaimExpired (stalled leases)');
      expect(plan).toContain('tasks_leased_idx');
      expect(plan).toContain('deliveries_lease_idx');
    }
    for (const plan of await explain(withSchema(queue.nextReady, names), '', '')) assertIndexed(plan, 'queue next ready time');
    for (const plan of await explain(withSchema(TIMER_SQL.claimDue, names), 'int, float8', '100, 60000')) {
      assertIndexed(plan, 'timers.claimDue');
      expect(plan).toContain('timers_due_idx');
    }
    for (const plan of await explain(withSchema(TIMER_SQL.nextDueIn, names), '', '')) assertIndexed(plan, 'timers.nextDueIn');
    const outcomes = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ task_id: `t${4 * i + 1}`, lease_id: `lease-${4 * i + 1}`, state: 'completed', queue: 'ack', release_ms: 0, drop_checkpoint: false })));
    const ids = `ARRAY[${Array.from({ length: 50 }, (_, i) => `'t${4 * i + 1}'`).join(',')}]`;
    for (const parts of [{ release: false, checkpoints: false }, { release: true, checkpoints: true }]) {
      for (const plan of await explain(withSchema(finishAndSettleSql(names.channel, parts), names), 'json, text[]', `'${outcomes}', ${ids}`)) {
        assertIndexed(plan, 'finishAndSettle');
      }
    }
  }

  it('the claim, stalled-lease, due-timer and completion queries use indexes before any ANALYZE', async () => {
    await checkAll();
  });

  it('and after ANALYZE', async () => {
    await pool.query(`ANALYZE ${S}.tasks, ${S}.deliveries, ${S}.timers`);
    await checkAll();
  });
});
