// CheckpointStore on MySQL: one row per task, bytes in a LONGBLOB exactly as saved. A save locks
// the task row first, so it is fenced against the task's current lease, and marks the task and
// appends its events in the same transaction.
import { transitions, type Audited, type CheckpointBlob, type CheckpointStats, type CheckpointStore, type StoredCheckpoint } from '@baton/core/adapter';
import { list, num, str, type Db, type Sql } from './mysql-db.js';
import { appendTaskEvents, liteTask, lockTasks } from './task-rows.js';

export class MysqlCheckpointStore implements CheckpointStore {
  constructor(private readonly db: Db) {}

  save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    return this.db.run('checkpoints.save', async (sql) => {
      const [row] = await lockTasks(this.db, sql, [taskId]);
      // A worker that lost its lease must not overwrite the new holder's checkpoint.
      if (row === undefined || !transitions.holdsLease(liteTask(row), leaseId)) return false;
      const task = liteTask(row);
      const now = await sql.now();
      const body = Buffer.from(blob.body.buffer, blob.body.byteOffset, blob.body.byteLength);
      await sql.exec(
        `INSERT INTO ${this.db.t('checkpoints')} (task_id, token, encoding, body, size_bytes, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE token = VALUES(token), encoding = VALUES(encoding), body = VALUES(body), size_bytes = VALUES(size_bytes), updated_at = VALUES(updated_at)`,
        [taskId, blob.token, blob.encoding, body, blob.sizeBytes, now],
      );
      // Not a lifecycle change: the task is marked and updatedAt stays.
      if (!task.hasCheckpoint) await sql.exec(`UPDATE ${this.db.t('tasks')} SET has_checkpoint = 1 WHERE id = ?`, [taskId]);
      await appendTaskEvents(this.db, sql, [{ task, events: options?.events }]);
      return true;
    });
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    const [r] = await this.db.auto('checkpoints.load', (sql) =>
      sql.rows(`SELECT task_id, token, encoding, body, size_bytes, updated_at FROM ${this.db.t('checkpoints')} WHERE task_id = ?`, [taskId]),
    );
    if (r === undefined) return null;
    const body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(String(r.body), 'utf8');
    return {
      taskId: str(r.task_id),
      token: String(r.token),
      encoding: String(r.encoding) === 'gzip' ? 'gzip' : 'json',
      body: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)),
      sizeBytes: num(r.size_bytes),
      updatedAt: num(r.updated_at),
    };
  }

  delete(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return Promise.resolve(0);
    return this.db.run('checkpoints.delete', (sql) => this.deleteIn(sql, taskIds));
  }

  /** Deletes checkpoints and clears their tasks' `hasCheckpoint` (also used by finishAndSettle). */
  async deleteIn(sql: Sql, taskIds: readonly string[]): Promise<number> {
    const ids = [...new Set(taskIds)];
    if (ids.length === 0) return 0;
    const found = await sql.rows(`SELECT task_id FROM ${this.db.t('checkpoints')} WHERE task_id IN ${list(ids.length)} FOR UPDATE`, ids);
    if (found.length === 0) return 0;
    const gone = found.map((r) => str(r.task_id));
    await sql.exec(`DELETE FROM ${this.db.t('checkpoints')} WHERE task_id IN ${list(gone.length)}`, gone);
    await sql.exec(`UPDATE ${this.db.t('tasks')} SET has_checkpoint = 0 WHERE id IN ${list(gone.length)}`, gone);
    return gone.length;
  }

  async stats(): Promise<CheckpointStats> {
    const [r] = await this.db.auto('checkpoints.stats', (sql) => sql.rows(`SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(body)), 0) AS bytes FROM ${this.db.t('checkpoints')}`));
    const count = num(r?.n ?? 0);
    const totalBytes = num(r?.bytes ?? 0);
    return { count, totalBytes, avgBytes: count === 0 ? 0 : totalBytes / count };
  }
}
