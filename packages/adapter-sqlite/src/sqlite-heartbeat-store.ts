// The SQLite side of HeartbeatStore: a row per id with its last beat and expiry. Expired rows are
// invisible to reads at once and swept, a bounded batch per beat call, so the table stays small.
import type { Beat, HeartbeatStore, StaleEntry } from '@baton/core';
import type { SqliteContext } from './sqlite-context.js';
import { transaction, type SqliteStatement, type SqliteTransaction } from './sqlite-driver.js';

const SWEEP_BATCH = 100;

export class SqliteHeartbeatStore implements HeartbeatStore {
  private readonly upsert: SqliteStatement;
  private readonly sweep: SqliteStatement;
  private readonly select: SqliteStatement;
  private readonly selectStale: SqliteStatement;
  private readonly deleteOne: SqliteStatement;
  private readonly beatTx: SqliteTransaction<(beats: Beat[]) => void>;
  private readonly removeTx: SqliteTransaction<(ids: string[]) => void>;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.upsert = db.prepare(
      'INSERT INTO baton_heartbeats (id, last_seen, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at',
    );
    this.sweep = db.prepare(
      `DELETE FROM baton_heartbeats WHERE id IN (SELECT id FROM baton_heartbeats WHERE expires_at <= ? ORDER BY expires_at LIMIT ${SWEEP_BATCH})`,
    );
    this.select = db.prepare('SELECT last_seen FROM baton_heartbeats WHERE id = ? AND expires_at > ?').pluck();
    this.selectStale = db.prepare(
      'SELECT id, last_seen AS lastSeen FROM baton_heartbeats WHERE last_seen < ? AND expires_at > ? ORDER BY last_seen LIMIT ?',
    );
    this.deleteOne = db.prepare('DELETE FROM baton_heartbeats WHERE id = ?');
    this.beatTx = transaction(db, (beats: Beat[]) => {
      const now = ctx.now();
      for (const b of beats) this.upsert.run(b.id, now, now + Math.max(0, b.ttlMs));
      this.sweep.run(now);
    });
    this.removeTx = transaction(db, (ids: string[]) => {
      for (const id of ids) this.deleteOne.run(id);
    });
  }

  async beat(beats: Beat[]): Promise<void> {
    this.ctx.assertOpen();
    if (beats.length === 0) return;
    try {
      this.beatTx.immediate(beats);
    } catch (err) {
      throw this.ctx.error('heartbeats.beat', err);
    }
  }

  async lastSeen(id: string): Promise<number | null> {
    this.ctx.assertOpen();
    try {
      return (this.select.get(id, this.ctx.now()) as number | undefined) ?? null;
    } catch (err) {
      throw this.ctx.error('heartbeats.lastSeen', err);
    }
  }

  async stale(olderThanMs: number, limit = 100): Promise<StaleEntry[]> {
    this.ctx.assertOpen();
    if (limit <= 0) return [];
    try {
      const now = this.ctx.now();
      return this.selectStale.all(now - olderThanMs, now, Math.floor(limit)) as StaleEntry[];
    } catch (err) {
      throw this.ctx.error('heartbeats.stale', err);
    }
  }

  async remove(ids: string[]): Promise<void> {
    this.ctx.assertOpen();
    if (ids.length === 0) return;
    try {
      this.removeTx.immediate(ids);
    } catch (err) {
      throw this.ctx.error('heartbeats.remove', err);
    }
  }
}
