// The SQLite side of CheckpointStore: one BLOB row per task in baton_checkpoints, written in the
// same transaction that checks the task's lease, so a worker that lost its lease cannot overwrite
// the new holder's checkpoint.
import type { CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';

interface CheckpointRow {
  token: string;
  encoding: 'json' | 'gzip';
  body: Uint8Array;
  size_bytes: number;
  updated_at: number;
}

export class SqliteCheckpointStore implements CheckpointStore {
  private readonly fence: SqliteStatement;
  private readonly mark: SqliteStatement;
  private readonly unmark: SqliteStatement;
  private readonly upsert: SqliteStatement;
  private readonly select: SqliteStatement;
  private readonly remove: SqliteStatement;
  private readonly summary: SqliteStatement;
  private readonly saveTx: SqliteTransaction<(taskId: string, leaseId: string, blob: CheckpointBlob) => boolean>;
  /** @internal composed into SqliteFlow's transactions. */
  readonly deleteTx: SqliteTransaction<(taskIds: string[]) => number>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.fence = db.prepare("SELECT has_checkpoint FROM baton_tasks WHERE id = ? AND state = 'running' AND lease_id = ?").pluck();
    this.mark = db.prepare('UPDATE baton_tasks SET has_checkpoint = 1 WHERE id = ?');
    this.unmark = db.prepare('UPDATE baton_tasks SET has_checkpoint = 0 WHERE id = ? AND has_checkpoint = 1');
    this.upsert = db.prepare(
      'INSERT INTO baton_checkpoints (task_id, token, encoding, body, size_bytes, updated_at) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (task_id) DO UPDATE SET token = excluded.token, encoding = excluded.encoding, body = excluded.body, ' +
        'size_bytes = excluded.size_bytes, updated_at = excluded.updated_at',
    );
    this.select = db.prepare('SELECT token, encoding, body, size_bytes, updated_at FROM baton_checkpoints WHERE task_id = ?');
    this.remove = db.prepare('DELETE FROM baton_checkpoints WHERE task_id = ?');
    this.summary = db.prepare('SELECT count(*) AS count, coalesce(sum(length(body)), 0) AS total FROM baton_checkpoints');

    this.saveTx = transaction(db, (taskId: string, leaseId: string, blob: CheckpointBlob) => {
      const had = this.fence.get(taskId, leaseId) as number | undefined;
      if (had === undefined) return false;
      // Rewriting the task row (and its input) on every save would cost more than the save itself.
      if (had === 0) this.mark.run(taskId);
      this.upsert.run(taskId, blob.token, blob.encoding, blob.body, blob.sizeBytes, ctx.now());
      return true;
    });
    this.deleteTx = transaction(db, (taskIds: string[]) => {
      let n = 0;
      for (const id of taskIds) {
        const removed = this.remove.run(id).changes;
        if (removed > 0) this.unmark.run(id);
        n += removed;
      }
      return n;
    });
  }

  async save(taskId: string, leaseId: string, blob: CheckpointBlob): Promise<boolean> {
    this.ctx.assertOpen();
    try {
      return this.saveTx.immediate(taskId, leaseId, blob);
    } catch (err) {
      throw this.ctx.error('checkpoints.save', err);
    }
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    this.ctx.assertOpen();
    let row: CheckpointRow | undefined;
    try {
      row = this.select.get(taskId) as CheckpointRow | undefined;
    } catch (err) {
      throw this.ctx.error('checkpoints.load', err);
    }
    if (row === undefined) return null;
    return { taskId, token: row.token, encoding: row.encoding, body: row.body, sizeBytes: row.size_bytes, updatedAt: row.updated_at };
  }

  async delete(taskIds: string[]): Promise<number> {
    this.ctx.assertOpen();
    if (taskIds.length === 0) return 0;
    try {
      return this.deleteTx.immediate(taskIds);
    } catch (err) {
      throw this.ctx.error('checkpoints.delete', err);
    }
  }

  async stats(): Promise<CheckpointStats> {
    this.ctx.assertOpen();
    try {
      const { count, total } = this.summary.get() as { count: number; total: number };
      return { count, totalBytes: total, avgBytes: count === 0 ? 0 : total / count };
    } catch (err) {
      throw this.ctx.error('checkpoints.stats', err);
    }
  }
}
