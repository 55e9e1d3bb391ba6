// The PostgreSQL side of CheckpointStore: one row per task, returned byte for byte. A save is
// fenced by the task's lease in the same statement (the task row is updated first, so a reclaim
// racing with the save serialises on that row), marks the task `has_checkpoint` (leaving
// updated_at alone: a save is not a lifecycle change) and appends the events handed to it.
import type { Audited, CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core/adapter';
import { ms, type Db, type Statement } from './db.js';
import { eventParams, handedEvents } from './event-rows.js';

const SQL = {
  save: `
    WITH fence AS (
      UPDATE :SCHEMA:.tasks t SET has_checkpoint = true
      WHERE t.id = $1 AND t.lease_id = $2 AND t.state = 'running'
      RETURNING t.id, 1::bigint AS i, t.run_id, t.phase_id
    ), saved AS (
      INSERT INTO :SCHEMA:.checkpoints AS c (task_id, token, encoding, data, body, size_bytes, stored_bytes)
      SELECT f.id, $3, $4, $5::json, $6::bytea, $7, $8 FROM fence f
      ON CONFLICT (task_id) DO UPDATE
        SET token = excluded.token, encoding = excluded.encoding, data = excluded.data, body = excluded.body,
            size_bytes = excluded.size_bytes, stored_bytes = excluded.stored_bytes, updated_at = now()
      RETURNING c.task_id
    ), ${handedEvents('fence', '$9', '$10')}
    SELECT count(*)::int AS n FROM saved`,
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
    this.q = Object.fromEntries(Object.entries(SQL).map(([k, text]) => [k, db.statement(text)])) as Record<keyof typeof SQL, Statement>;
  }

  save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    return this.db.run('checkpoints.save', async () => {
      const bytes = Buffer.from(blob.body.buffer, blob.body.byteOffset, blob.body.byteLength);
      const json = blob.encoding === 'json';
      const data = json ? bytes.toString('utf8') : null;
      const body = json ? null : bytes;
      const events = eventParams(options?.events === undefined ? undefined : [options.events]);
      const rows = await this.db.query(this.q.save, [taskId, leaseId, blob.token, blob.encoding, data, body, blob.sizeBytes, blob.body.byteLength, ...events]);
      return Number(rows[0]?.n ?? 0) > 0;
    });
  }

  load(taskId: string): Promise<StoredCheckpoint | null> {
    return this.db.run('checkpoints.load', async () => {
      const r = (await this.db.query(this.q.load, [taskId]))[0];
      if (!r) return null;
      // The json column keeps the saved text exactly, so these are the saved bytes; core decodes.
      const body = typeof r.data === 'string' ? Buffer.from(r.data, 'utf8') : Buffer.isBuffer(r.body) ? r.body : Buffer.alloc(0);
      return {
        taskId: r.task_id as string,
        token: r.token as string,
        encoding: r.encoding as 'json' | 'gzip',
        body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        sizeBytes: r.size_bytes as number,
        updatedAt: r.updated_at as number,
      };
    });
  }

  delete(taskIds: string[]): Promise<number> {
    return this.db.run('checkpoints.delete', async () => {
      if (taskIds.length === 0) return 0;
      return Number((await this.db.query(this.q.delete, [taskIds]))[0]?.n ?? 0);
    });
  }

  stats(): Promise<CheckpointStats> {
    return this.db.run('checkpoints.stats', async () => {
      const r = (await this.db.query(this.q.stats, []))[0] ?? {};
      const count = Number(r.count ?? 0);
      const totalBytes = Number(r.total ?? 0);
      return { count, totalBytes, avgBytes: count === 0 ? 0 : totalBytes / count };
    });
  }
}
