// The shared contract suite against a fresh SQLite file per test, with corruption hooks that
// write undecodable bytes through a second connection, behind the adapter's back.
import { runConformanceSuite, type CorruptionHooks } from '@baton/conformance';
import type { SqliteBackend } from '../src/index.js';
import { behindTheBack, freshFiles } from './helpers.js';

/** Task fields as the columns that hold them. */
const COLUMN = { input: 'input', budget: 'budget', error: 'error', result: 'result' } as const;

const corrupt: CorruptionHooks<SqliteBackend> = {
  async corruptTaskField(b, taskId, field) {
    behindTheBack(b.file, (db) => db.prepare(`UPDATE baton_tasks SET ${COLUMN[field]} = ? WHERE id = ?`).run('{"truncated": [1, 2', taskId));
  },
  async corruptCheckpoint(b, taskId) {
    behindTheBack(b.file, (db) => db.prepare('UPDATE baton_checkpoints SET body = ? WHERE task_id = ?').run(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x7b]), taskId));
  },
  async corruptTimer(b, timerId) {
    behindTheBack(b.file, (db) => db.prepare('UPDATE baton_timers SET payload = ? WHERE id = ?').run('{"n": 1,,}', timerId));
  },
  async corruptEvent(b, seq) {
    behindTheBack(b.file, (db) => db.prepare('UPDATE baton_events SET data = ? WHERE seq = ?').run('{"i": 2', seq));
  },
  // A BLOB where the task id belongs, at the very head of the queue (top priority, ready since 1970).
  async injectBadDelivery(b, queue) {
    behindTheBack(b.file, (db) =>
      db.prepare('INSERT INTO baton_deliveries (task_id, queue, priority, group_key, ready_at) VALUES (?, ?, 10000, NULL, 0)').run(Buffer.from([0xff, 0xfe, 0x00, 0x01]), queue),
    );
  },
  async deleteTaskKeepDelivery(b, taskId) {
    behindTheBack(b.file, (db) => db.prepare('DELETE FROM baton_tasks WHERE id = ?').run(taskId));
  },
};

runConformanceSuite<SqliteBackend>({
  name: 'sqlite',
  ...freshFiles(),
  corrupt,
});
