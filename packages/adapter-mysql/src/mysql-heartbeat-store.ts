// HeartbeatStore on MySQL: one row per id with its last beat and expiry, both on the server
// clock. Expired rows read as absent and are pruned by stale().
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
import { NOW_MS, list, num, str, type Db } from './mysql-db.js';

export class MysqlHeartbeatStore implements HeartbeatStore {
  constructor(private readonly db: Db) {}

  async beat(beats: Beat[]): Promise<void> {
    if (beats.length === 0) return;
    // Sorted by id: concurrent beats of overlapping ids lock rows in one order.
    const sorted = [...beats].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.db.auto('heartbeats.beat', (sql) =>
      sql.exec(
        `INSERT INTO ${this.db.t('heartbeats')} (id, last_seen, expires_at) VALUES ${sorted.map(() => `(?, ${NOW_MS}, ${NOW_MS} + ?)`).join(', ')}
         ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen), expires_at = VALUES(expires_at)`,
        sorted.flatMap((b) => [b.id, b.ttlMs]),
      ),
    );
  }

  async lastSeen(id: string): Promise<number | null> {
    const [r] = await this.db.auto('heartbeats.lastSeen', (sql) => sql.rows(`SELECT last_seen FROM ${this.db.t('heartbeats')} WHERE id = ? AND expires_at > ${NOW_MS}`, [id]));
    return r === undefined ? null : num(r.last_seen);
  }

  async stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    return this.db.auto('heartbeats.stale', async (sql) => {
      const now = await sql.now();
      await sql.exec(`DELETE FROM ${this.db.t('heartbeats')} WHERE expires_at <= ? LIMIT 1000`, [now]);
      if (limit <= 0) return [];
      const rows = await sql.rows(`SELECT id, last_seen FROM ${this.db.t('heartbeats')} WHERE expires_at > ? AND last_seen < ? ORDER BY last_seen LIMIT ?`, [
        now,
        now - olderThanMs,
        limit,
      ]);
      return rows.map((r) => ({ id: str(r.id), lastSeen: num(r.last_seen) }));
    });
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.auto('heartbeats.remove', (sql) => sql.exec(`DELETE FROM ${this.db.t('heartbeats')} WHERE id IN ${list(ids.length)}`, ids));
  }
}
