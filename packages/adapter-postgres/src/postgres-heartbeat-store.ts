// The PostgreSQL side of HeartbeatStore: one row per worker or task id with a TTL, on the
// database clock. Expired rows read as absent and are pruned by later beats.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
import { ms, type Db, type Statement } from './db.js';

const SQL = {
  beat: `
    WITH pruned AS (
      DELETE FROM :SCHEMA:.heartbeats WHERE id IN (
        SELECT id FROM :SCHEMA:.heartbeats WHERE expires_at <= now() AND id <> ALL($1::text[]) ORDER BY expires_at LIMIT 100
      )
    )
    INSERT INTO :SCHEMA:.heartbeats (id, last_seen, expires_at)
    SELECT b.id, clock_timestamp(), clock_timestamp() + b.ttl_ms * interval '1 millisecond'
    FROM unnest($1::text[], $2::float8[]) AS b(id, ttl_ms)
    ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at`,
  lastSeen: `SELECT ${ms('last_seen')} AS last_seen FROM :SCHEMA:.heartbeats WHERE id = $1 AND expires_at > now()`,
  stale: `
    SELECT id, ${ms('last_seen')} AS last_seen FROM :SCHEMA:.heartbeats
    WHERE expires_at > now() AND last_seen < now() - $1 * interval '1 millisecond'
    ORDER BY last_seen LIMIT $2`,
  remove: `DELETE FROM :SCHEMA:.heartbeats WHERE id = ANY($1::text[])`,
};

export class PostgresHeartbeatStore implements HeartbeatStore {
  private readonly q: Record<keyof typeof SQL, Statement>;

  constructor(private readonly db: Db) {
    this.q = Object.fromEntries(Object.entries(SQL).map(([k, text]) => [k, db.statement(text)])) as Record<keyof typeof SQL, Statement>;
  }

  beat(beats: Beat[]): Promise<void> {
    return this.db.run('heartbeats.beat', async () => {
      if (beats.length === 0) return;
      // One row may be upserted once per statement: the last beat of an id wins.
      const ttl = new Map<string, number>();
      for (const b of beats) ttl.set(b.id, b.ttlMs);
      await this.db.query(this.q.beat, [[...ttl.keys()], [...ttl.values()]]);
    });
  }

  lastSeen(id: string): Promise<number | null> {
    return this.db.run('heartbeats.lastSeen', async () => {
      const r = (await this.db.query(this.q.lastSeen, [id]))[0];
      return r ? (r.last_seen as number) : null;
    });
  }

  stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    return this.db.run('heartbeats.stale', async () => {
      if (limit <= 0) return [];
      const rows = await this.db.query(this.q.stale, [olderThanMs, limit]);
      return rows.map((r) => ({ id: r.id as string, lastSeen: r.last_seen as number }));
    });
  }

  remove(ids: string[]): Promise<void> {
    return this.db.run('heartbeats.remove', async () => {
      if (ids.length === 0) return;
      await this.db.query(this.q.remove, [ids]);
    });
  }
}
