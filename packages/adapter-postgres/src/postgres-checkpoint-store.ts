// The PostgreSQL side of CheckpointStore: one row per task, returned byte for byte. A save is
// fenced by the task's lease in the same statement (the task row is updated first, so a reclaim
// racing with the save serialises on that row) and marks the task `has_checkpoint`.
import type { CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core';
import type { Db, Statement } from './db.js';
import { ms } from './rows.js';

const SQL = {
  save: `
    WITH fence AS (
      UPDATE :SCHEMA:.tasks SET has_checkpoint = true, updated_at = now()
      WHERE id = $1 AND lease_id = $2 AND state = 'running'
      RETURNING id
    )
    INSERT INTO :SCHEMA:.checkpoints AS c (task_id, token, encoding, data, body, size_bytes, stored_bytes)
    SELECT id, $3, $4, $5::json, $6::bytea, $7, $8 FROM fence
    ON CONFLICT (task_id) DO UPDATE
      SET token = excluded.token, encoding = excluded.encoding, data = excluded.data, body = excluded.body,
          size_bytes = excluded.size_bytes, stored_bytes = excluded.stored_bytes, updated_at = now()
    RETURNING c.task_id`,
  load: `
    SELECT task_id, token, encoding, data::text AS data, body, size_bytes, ${ms('updated_at')} AS updated_at
    FROM :SCHEMA:.checkpoints WHERE task_id = $1`,
  delete: `
    WITH gone AS (
      DELETE FROM :SCHEMA:.checkpoints WHERE task_id = ANY($1::text[]) RETURNING task_id
    ), flag AS (
      UPDATE :SCHEMA:.tasks t SET has_checkpoint = false FROM gone WHERE t.id = gone.task_id AND t.has_checkpoint
    )
    SELECT count(*)::int AS n FROM gone`,
  stats: `
    SELECT count(*)::int AS count, coalesce(sum(stored_bytes), 0)::float8 AS total
    FROM :SCHEMA:.checkpoints`,
};

export class PostgresCheckpointStore implements CheckpointStore {
  private readonly q: Record<keyof typeof SQL, Statement>;

  constructor(private readonly db: Db) {
    this.q = Object.fromEntries(Object.entries(SQL).map(([k, text]) => [k, db.statement(`checkpoints.${k}`, text)])) as Record<keyof typeof SQL, Statement>;
  }

  async save(taskId: string, leaseId: string, blob: CheckpointBlob): Promise<boolean> {
    const bytes = Buffer.from(blob.body.buffer, blob.body.byteOffset, blob.body.byteLength);
    const json = blob.encoding === 'json';
    const data = json ? bytes.toString('utf8') : null;
    const body = json ? null : bytes;
    const rows = await this.db.run(this.q.save, [taskId, leaseId, blob.token, blob.encoding, data, body, blob.sizeBytes, blob.body.byteLength]);
    return rows.length > 0;
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    const r = (await this.db.run(this.q.load, [taskId]))[0];
    if (!r) return null;
    // The json column keeps the saved text exactly, so these are the saved bytes.
    const body = typeof r.data === 'string' ? Buffer.from(r.data, 'utf8') : (r.body as Buffer);
    return {
      taskId: r.task_id as string,
      token: r.token as string,
      encoding: r.encoding as 'json' | 'gzip',
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      sizeBytes: r.size_bytes as number,
      updatedAt: r.updated_at as number,
    };
  }

  async delete(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    const rows = await this.db.run(this.q.delete, [taskIds]);
    return Number(rows[0]?.n ?? 0);
  }

  async stats(): Promise<CheckpointStats> {
    const r = (await this.db.run(this.q.stats, []))[0] ?? {};
    const count = Number(r.count ?? 0);
    const totalBytes = Number(r.total ?? 0);
    return { count, totalBytes, avgBytes: count === 0 ? 0 : totalBytes / count };
  }
}
