// The contract suite against the real server: every backend its own random table prefix, dropped
// in destroy; the corruption hooks write undecodable bytes straight into those tables.
import { afterAll, describe } from 'vitest';
import { runConformanceSuite, type CorruptionHooks } from '@baton/conformance';
import { mysqlBackend, type MysqlBackend } from '@baton/mysql';
import { MYSQL_URL, adminPool, dropPrefix, randomPrefix, reachable, skipReason } from './helpers.js';

const table = (b: MysqlBackend, name: string) => `\`${b.prefix}${name}\``;
const exec = async (sql: string, values: unknown[]) => {
  await adminPool().query(sql, values);
};

const corrupt: CorruptionHooks<MysqlBackend> = {
  async corruptTaskField(b, taskId, field) {
    await exec(`UPDATE ${table(b, 'tasks')} SET ${field} = ? WHERE id = ?`, ['{"truncated": [1, 2', taskId]);
  },
  async corruptCheckpoint(b, taskId) {
    await exec(`UPDATE ${table(b, 'checkpoints')} SET body = ? WHERE task_id = ?`, [Buffer.from([0x1f, 0x8b, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]), taskId]);
  },
  async corruptTimer(b, timerId) {
    await exec(`UPDATE ${table(b, 'timers')} SET payload = ? WHERE id = ?`, ['{not json', timerId]);
  },
  async corruptEvent(b, seq) {
    await exec(`UPDATE ${table(b, 'events')} SET data = ? WHERE seq = ?`, ['{"broken":', seq]);
  },
  async injectBadDelivery(b, queue) {
    // Bytes that are not UTF-8 where the task id belongs, at the front of the claim order.
    await exec(`INSERT INTO ${table(b, 'deliveries')} (task_id, queue, neg_priority, grp, status, ready_at) VALUES (?, ?, ?, NULL, 0, 0)`, [
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      queue,
      -10_000,
    ]);
  },
  async deleteTaskKeepDelivery(b, taskId) {
    await exec(`DELETE FROM ${table(b, 'tasks')} WHERE id = ?`, [taskId]);
  },
};

describe.skipIf(!reachable)(`@baton/mysql conformance ${skipReason}`, () => {
  afterAll(async () => {
    await adminPool().end();
  });
  runConformanceSuite<MysqlBackend>({
    name: 'mysql',
    create: async () => mysqlBackend(MYSQL_URL, { prefix: randomPrefix('conf'), poolSize: 6 }),
    destroy: (b) => dropPrefix(b.prefix),
    corrupt,
    // The application's own connection inside START TRANSACTION, as a user passes it to enqueue.
    async transaction(_b, work, end) {
      const conn = await adminPool().getConnection();
      try {
        await conn.query('START TRANSACTION');
        await work(conn);
        await conn.query(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
      } finally {
        conn.release();
      }
    },
  });
});
