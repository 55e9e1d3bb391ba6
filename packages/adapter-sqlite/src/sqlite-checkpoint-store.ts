// The SQLite side of CheckpointStore: one BLOB row per task in baton_checkpoints, written in the
// same transaction that checks the task's lease, so a worker that lost its lease cannot overwrite
// the new holder's checkpoint; the save's events commit with it. Bodies are stored and returned
// exactly as given, never decoded here (core decodes, and quarantines what it cannot read).
import type { Audited, CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';
import type { SqliteEventLog } from './sqlite-event-log.js';

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

  constructor(
    private readonly ctx: SqliteContext,
    private readonly events: SqliteEventLog,
  ) {
    const db = ctx.db;
    this.fence = db.prepare("SELECT has_checkpoint, run_id, phase_id FROM baton_tasks WHERE id = ? AND state = 'running' AND lease_id = ?");
    // Not lifecycle changes (transitions.checkpointSaved / checkpointDeleted): updated_at stays.
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
  }

  save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    return this.ctx.run('checkpoints.save', () =>
      this.ctx.write(() => {
        const held = this.fence.get(taskId, leaseId) as { has_checkpoint: number; run_id: string | null; phase_id: string | null } | undefined;
        if (held === undefined) return false;
        // Rewriting the task row (and its input) on every save would cost more than the save itself.
        if (held.has_checkpoint === 0) this.mark.run(taskId);
        this.upsert.run(taskId, blob.token, blob.encoding, blob.body, blob.sizeBytes, this.ctx.now());
        this.events.appendIn(options?.events, held.run_id, held.phase_id);
        return true;
      }),
    );
  }

  load(taskId: string): Promise<StoredCheckpoint | null> {
    return this.ctx.run('checkpoints.load', () => {
      const row = this.select.get(taskId) as CheckpointRow | undefined;
      if (row === undefined) return null;
      // A BLOB comes back as a Buffer; a body rewritten as TEXT behind our back comes back as its bytes all the same.
      const body = typeof row.body === 'string' ? new Uint8Array(Buffer.from(row.body, 'utf8')) : new Uint8Array(row.body);
      return { taskId, token: String(row.token), encoding: row.encoding, body, sizeBytes: row.size_bytes, updatedAt: row.updated_at };
    });
  }

  delete(taskIds: string[]): Promise<number> {
    return this.ctx.run('checkpoints.delete', () => (taskIds.length === 0 ? 0 : this.ctx.write(() => this.deleteIn(taskIds))));
  }

  /** @internal `delete` inside the caller's transaction (finishAndSettle). */
  deleteIn(taskIds: readonly string[]): number {
    let n = 0;
    for (const id of taskIds) {
      const removed = this.remove.run(id).changes;
      if (removed > 0) this.unmark.run(id);
      n += removed;
    }
    return n;
  }

  stats(): Promise<CheckpointStats> {
    return this.ctx.run('checkpoints.stats', () => {
      const { count, total } = this.summary.get() as { count: number; total: number };
      return { count, totalBytes: total, avgBytes: count === 0 ? 0 : total / count };
    });
  }
}
