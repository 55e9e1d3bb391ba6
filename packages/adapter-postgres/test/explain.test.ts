// The query paths that run all day must use an index, never read a large table whole: the claim
// (over unlimited and limited queues), the wait's next-due probe, the stalled-lease (reclaim)
// query, the due-timer claim, the batched completion, the heartbeat, and the single-port task
// writes a composed flow uses (production preset). The tables hold ~20k rows each; plans are
// checked before statistics exist (a fresh schema under load) and after ANALYZE, as custom and as
// generic (prepared) plans; the PL/pgSQL functions' inner statements through auto_explain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/postgres-migrations.js';
import { FLOW_HEARTBEAT_SQL, finishAndSettleSql } from '../src/postgres-task-flow.js';
import { queueSql } from '../src/queue-statements.js';
import { TIMER_SQL } from '../src/postgres-timer-store.js';
import { taskSql } from '../src/task-statements.js';
import { schemaNames, withSchema } from '../src/schema.js';
import { dropSchema, newPool, randomSchema, reachable, skipReason } from './helpers.js';

const ROWS = 20_000;
const BIG_TABLES = ['tasks', 'deliveries', 'timers'];

function assertIndexed(plan: string, what: string): void {
  for (const table of BIG_TABLES) {
    if (new RegExp(`Seq Scan on ${table}\\b`).test(plan)) {
      throw new Error(`${what} reads ${table} with a sequential scan:\n${plan}`);
    }
  }
  // An index scan can read a whole table too, when the index it walks is the wrong one: a
  // statement that handles at most 100 rows (claims and batches of 50 here) never has to pass over
  // thousands (plans run with ANALYZE report it).
  for (const m of plan.matchAll(/Rows Removed by (?:Filter|Join Filter|Index Recheck): (\d+)/g)) {
    if (Number(m[1]) > 1_000) throw new Error(`${what} passes over ${m[1]} rows it then drops (the wrong index?):\n${plan}`);
  }
}

describe.skipIf(!reachable)(`query plans over ${ROWS} rows ${skipReason}`, () => {
  const schema = randomSchema('plan');
  const names = schemaNames(schema);
  const pool = newPool(2);
  const S = names.ident;
  const ids = (n: number, at: (i: number) => string) => `ARRAY[${Array.from({ length: n }, (_, i) => `'${at(i)}'`).join(',')}]`;

  beforeAll(async () => {
    await migrate(pool, { schema });
    // A quarter finished, a quarter leased (half of those expired), half ready or delayed; four
    // queues, five priorities, groups in one of them.
    await pool.query(`
      INSERT INTO ${S}.tasks (id, type, input, idempotency_key, queue, priority, group_key, state, q_ready_at, q_lease_id, q_lease_expires_at, lease_id, finished_at)
      SELECT 't' || g, 'job', '{"n":1}', 'k' || g, 'q' || (g % 4), g % 5 - 2, CASE WHEN g % 4 = 2 THEN 'grp' || (g % 7) END,
        CASE g % 4 WHEN 0 THEN 'completed' WHEN 1 THEN 'running' ELSE 'pending' END,
        CASE WHEN g % 4 = 0 THEN NULL WHEN g % 4 = 3 THEN now() + interval '1 hour' ELSE now() - g * interval '1 ms' END,
        CASE WHEN g % 4 = 1 THEN 'lease-' || g END,
        CASE WHEN g % 4 = 1 THEN now() + CASE WHEN g % 8 = 1 THEN interval '-1 minute' ELSE interval '1 hour' END END,
        CASE WHEN g % 4 = 1 THEN 'lease-' || g END,
        CASE WHEN g % 4 = 0 THEN now() END
      FROM generate_series(1, ${ROWS}) g`);
    await pool.query(`
      INSERT INTO ${S}.deliveries (task_id, queue, priority, ready_at, lease_id, lease_expires_at)
      SELECT 'd' || g, 'q' || (g % 4), g % 3, now() - g * interval '1 ms',
        CASE WHEN g % 2 = 0 THEN 'lease-' || g END,
        CASE WHEN g % 2 = 0 THEN now() + CASE WHEN g % 4 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END END
      FROM generate_series(1, ${ROWS}) g`);
    await pool.query(`
      INSERT INTO ${S}.timers (id, kind, due_at, claimed_until, fired_at, task_id, phase_id)
      SELECT 'tm' || g, 'retry', now() + (g % 100 - 50) * interval '1 minute',
        CASE WHEN g % 10 = 0 THEN now() + interval '1 minute' END,
        CASE WHEN g % 3 = 0 THEN now() END, 't' || g, 'p' || (g % 50)
      FROM generate_series(1, ${ROWS}) g`);
    // q2 is limited (every kind of limit); q0, q1, q3 are not.
    await pool.query(`INSERT INTO ${S}.queue_settings (name, concurrency, group_concurrency, rate_max, rate_per_ms) VALUES ('q2', 100000, 1000, 100000, 1000)`);
  });

  afterAll(async () => {
    await dropSchema(schema);
    await pool.end();
  });

  /** The plans of everything a PL/pgSQL function runs, captured with auto_explain. */
  async function functionPlans(call: string, values: unknown[], check: (rows: unknown[]) => void): Promise<string> {
    const client = await pool.connect();
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query(`SET auto_explain.log_min_duration = 0`);
      await client.query(`SET auto_explain.log_nested_statements = on`);
      await client.query(`SET auto_explain.log_analyze = on`);
      await client.query(`SET auto_explain.log_level = notice`);
      await client.query('BEGIN');
      const { rows } = await client.query(call, values);
      check(rows);
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
    const claim = `SELECT * FROM ${S}.claim($1::text[], 50, 60000, $2, true)`;
    const cases: [string[], string | null][] = [
      [['q1', 'q2'], 'worker-1'],
      [['q1', 'q3'], null],
      [['q2'], 'worker-2'],
    ];
    for (const [queues, worker] of cases) {
      const plan = await functionPlans(claim, [queues, worker], (rows) => expect(rows.length).toBe(50));
      assertIndexed(plan, `claim(${queues.join(', ')}, worker ${worker})`);
      expect(plan).toContain('tasks_claim_idx');
      expect(plan).toContain('deliveries_claim_idx');
      if (queues.includes('q2')) expect(plan).toContain('tasks_leased_idx');
    }
    const nextDue = await functionPlans(`SELECT ${S}.next_due($1::text[]) AS ms`, [['q0', 'q1', 'q2', 'q3']], (rows) => expect(rows).toHaveLength(1));
    assertIndexed(nextDue, 'next_due (a waiting claim)');
    expect(nextDue).toContain('tasks_claim_idx');

    const queue = queueSql(names.channel);
    for (const plan of await explain(withSchema(queue.reclaimExpired, names), 'int', '100')) {
      assertIndexed(plan, 'reclaimExpired (stalled leases)');
      expect(plan).toContain('tasks_leased_idx');
      expect(plan).toContain('deliveries_leased_idx');
    }
    const leases = (n: number) => [ids(n, (i) => `t${4 * i + 1}`), ids(n, (i) => `lease-${4 * i + 1}`)];
    for (const [what, text] of [['ack', queue.ack], ['extend', queue.extend]] as const) {
      const [t, l] = leases(50);
      for (const plan of await explain(withSchema(text, names), what === 'ack' ? 'text[], text[]' : 'text[], text[], float8', what === 'ack' ? `${t}, ${l}` : `${t}, ${l}, 60000`)) {
        assertIndexed(plan, `queue.${what}`);
      }
    }
    for (const plan of await explain(withSchema(TIMER_SQL.claimDue, names), 'int, float8', '100, 60000')) {
      assertIndexed(plan, 'timers.claimDue');
      expect(plan).toContain('timers_due_idx');
    }
    for (const plan of await explain(withSchema(TIMER_SQL.nextDueIn, names), '', '')) assertIndexed(plan, 'timers.nextDueIn');

    const [t, l] = leases(50);
    const outcomes = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ task_id: `t${4 * i + 1}`, lease_id: `lease-${4 * i + 1}`, state: 'completed', queue_action: 'ack', release_ms: 0, drop_checkpoint: false })));
    const results = `'${Array(50).fill('null').join('\u001e')}'`;
    const errors = `'${Array(50).fill('').join('\u001e')}'`;
    const events = `'[]', ''`;
    for (const parts of [{ release: false, checkpoints: false }, { release: true, checkpoints: true }]) {
      for (const plan of await explain(withSchema(finishAndSettleSql(names.channel, parts), names), 'json, text, text, text[], json, text', `'${outcomes}', ${results}, ${errors}, ${t}, ${events}`)) {
        assertIndexed(plan, 'flow.finishAndSettle');
      }
    }
    for (const plan of await explain(withSchema(FLOW_HEARTBEAT_SQL, names), 'text[], text[], float8', `${t}, ${l}, 60000`)) assertIndexed(plan, 'flow.heartbeat');

    // The single-port writes core composes when the queue lives elsewhere (the production preset).
    const tasks = taskSql(names.channel);
    const workers = ids(50, () => 'w');
    for (const plan of await explain(withSchema(tasks.start, names), 'text[], text[], text[], boolean', `${t}, ${l}, ${workers}, true`)) assertIndexed(plan, 'tasks.start');
    for (const plan of await explain(withSchema(tasks.finish, names), 'json, text, text, text[], json, text', `'${outcomes}', ${results}, ${errors}, ${t}, ${events}`)) {
      assertIndexed(plan, 'tasks.finish');
    }
    for (const plan of await explain(withSchema(tasks.heartbeat, names), 'text[], text[]', `${t}, ${l}`)) assertIndexed(plan, 'tasks.heartbeat');
    const refs = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ task_id: `t${4 * i + 1}`, lease_id: `lease-${4 * i + 1}` })));
    for (const plan of await explain(withSchema(tasks.recover, names), 'json, text, int, text[], json, text', `'${refs}', ${results}, 10, ${t}, ${events}`)) {
      assertIndexed(plan, 'tasks.recover');
    }
  }

  it('the claim, wait, stalled-lease, due-timer, completion and heartbeat queries use indexes before any ANALYZE', async () => {
    await checkAll();
  });

  it('and after ANALYZE', async () => {
    await pool.query(`ANALYZE ${S}.tasks, ${S}.deliveries, ${S}.timers`);
    await checkAll();
  });

  it('and with statistics taken before a burst, while no task was pending', async () => {
    // A queue idle at the last ANALYZE, then 20,000 tasks at once: until autovacuum analyzes
    // again, the planner believes almost nothing is pending.
    const stale = randomSchema('plan_stale');
    const T = schemaNames(stale).ident;
    try {
      await migrate(pool, { schema: stale });
      const rows = (from: number, n: number, state: string) => `
        INSERT INTO ${T}.tasks (id, type, input, idempotency_key, state, q_ready_at, finished_at)
        SELECT 't' || g, 'job', '{"n":1}', 'k' || g, '${state}', ${state === 'pending' ? 'now() - g * interval \'1 ms\'' : 'NULL'}, ${state === 'pending' ? 'NULL' : 'now()'}
        FROM generate_series(${from}, ${from + n - 1}) g`;
      await pool.query(rows(1, 1_000, 'completed'));
      await pool.query(`ANALYZE ${T}.tasks, ${T}.deliveries`);
      await pool.query(rows(1_001, ROWS, 'pending'));
      const plan = await functionPlans(`SELECT * FROM ${T}.claim($1::text[], 50, 60000, $2, true)`, [['default'], 'worker-1'], (r) => expect(r.length).toBe(50));
      assertIndexed(plan, 'claim after a burst');
    } finally {
      await dropSchema(stale);
    }
  });
});
