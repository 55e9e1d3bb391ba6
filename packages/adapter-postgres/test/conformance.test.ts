// The contract suite against the real PostgreSQL: every backend its own random schema, dropped in
// destroy. The corruption hooks write bytes behind the adapter's back, as a bad migration, a manual
// edit or a foreign writer would.
import { afterAll, describe } from 'vitest';
import { runConformanceSuite, type CorruptionHooks } from '@baton/conformance';
import { postgresBackend, type PostgresBackend } from '@baton/postgres';
import { DATABASE_URL, dropSchema, newPool, randomSchema, reachable, skipReason } from './helpers.js';

const admin = newPool(2);
const sql = (b: PostgresBackend, text: string, values: unknown[]) => admin.query(text.replaceAll(':S', `"${b.schema}"`), values);

const corrupt: CorruptionHooks<PostgresBackend> = {
  async corruptTaskField(b, taskId, field) {
    const column = { input: 'input', budget: 'budget', error: 'error', result: 'result' }[field];
    await sql(b, `UPDATE :S.tasks SET ${column} = $2 WHERE id = $1`, [taskId, '{"truncated": [1, 2']);
  },
  async corruptCheckpoint(b, taskId) {
    await sql(b, `UPDATE :S.checkpoints SET encoding = 'gzip', data = NULL, body = $2 WHERE task_id = $1`, [taskId, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7b, 0x22])]);
  },
  async corruptTimer(b, timerId) {
    await sql(b, `UPDATE :S.timers SET payload = $2 WHERE id = $1`, [timerId, '{not json']);
  },
  async corruptEvent(b, eventSeq) {
    await sql(b, `UPDATE :S.events SET data = $2 WHERE seq = $1`, [eventSeq, '{"cut off']);
  },
  async injectBadDelivery(b, queue) {
    // Garbage where a task id belongs, at the very front of the queue.
    await sql(b, `INSERT INTO :S.deliveries (task_id, queue, priority, ready_at) VALUES ($1, $2, 10000, '-infinity')`, ['\u0001\u0002garbage', queue]);
  },
  async deleteTaskKeepDelivery(b, taskId) {
    // A task's delivery lives in its row: move it to the deliveries table first, as a delivery
    // of an id without a task row.
    await sql(
      b,
      `WITH moved AS (
         INSERT INTO :S.deliveries (task_id, queue, priority, group_key, ready_at, lease_id, lease_expires_at)
         SELECT id, queue, priority, group_key, q_ready_at, q_lease_id, q_lease_expires_at FROM :S.tasks WHERE id = $1 AND q_ready_at IS NOT NULL
       )
       DELETE FROM :S.tasks WHERE id = $1`,
      [taskId],
    );
  },
};

afterAll(() => admin.end());

describe.skipIf(!reachable)(`@baton/postgres conformance ${skipReason}`, () => {
  runConformanceSuite<PostgresBackend>({
    name: 'postgres',
    create: async () => postgresBackend(DATABASE_URL, { schema: randomSchema('conf'), poolSize: 4 }),
    destroy: (b) => dropSchema(b.schema),
    corrupt,
    // The application's own pg client inside BEGIN, as a user passes it to enqueue.
    async transaction(_b, work, end) {
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await work(client);
        await client.query(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
      } finally {
        client.release();
      }
    },
  });
});
