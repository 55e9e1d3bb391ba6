// The SQLite side of HeartbeatStore: a row per id with its last beat and expiry. Expired rows are
// invisible to reads at once and swept, a bounded batch per beat call, so the table stays small.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';

const SWEEP_BATCH = 100;

export class SqliteHeartbeatStore implements HeartbeatStore {
  private readonly upsert: SqliteStatement;
  private readonly sweep: SqliteStatement;
  private readonly select: SqliteStatement;
  private readonly selectStale: SqliteStatement;
  private readonly deleteOne: SqliteStatement;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.upsert = db.prepare(
      'INSERT INTO baton_heartbeats (id, last_seen, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at',
    );
    this.sweep = db.prepare(`DELETE FROM baton_heartbeats WHERE id IN (SELECT id FROM baton_heartbeats WHERE expires_at <= ? ORDER BY expires_at LIMIT ${SWEEP_BATCH})`);
    this.select = db.prepare('SELECT last_seen FROM baton_heartbeats WHERE id = ? AND expires_at > ?').pluck();
    this.selectStale = db.prepare('SELECT id, last_seen AS lastSeen FROM baton_heartbeats WHERE last_seen < ? AND expires_at > ? ORDER BY last_seen LIMIT ?');
    this.deleteOne = db.prepare('DELETE FROM baton_heartbeats WHERE id = ?');
  }

  beat(beats: Beat[]): Promise<void> {
    return this.ctx.run('heartbeats.beat', () => {
      if (beats.length === 0) return;
      this.ctx.write(() => {
        const now = this.ctx.now();
        for (const b of beats) this.upsert.run(b.id, now, now + b.ttlMs);
        this.sweep.run(now);
      });
    });
  }

  lastSeen(id: string): Promise<number | null> {
    return this.ctx.run('heartbeats.lastSeen', () => (this.select.get(id, this.ctx.now()) as number | undefined) ?? null);
  }

  stale(olderThanMs: number, limit: number): Promise<StaleEntry[]> {
    return this.ctx.run('heartbeats.stale', () => {
      const now = this.ctx.now();
      return limit <= 0 ? [] : (this.selectStale.all(now - olderThanMs, now, limit) as StaleEntry[]);
    });
  }

  remove(ids: string[]): Promise<void> {
    return this.ctx.run('heartbeats.remove', () => {
      if (ids.length === 0) return;
      this.ctx.write(() => {
        for (const id of ids) this.deleteOne.run(id);
      });
    });
  }
}
