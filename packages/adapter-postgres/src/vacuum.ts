// Retention's deletes and every task's row updates leave dead row versions, and only VACUUM makes
// their space reusable. Autovacuum looks at a table once a minute at best (autovacuum_naptime is
// server-wide), so a queue that finishes thousands of tasks a second appends to its files for
// that minute and keeps the size. After each retention pass the tables retention deletes from
// are vacuumed once their dead rows (deleted, or old versions left by updates) pass a fifth of
// the live ones: autovacuum's own rule, checked at the pace retention runs. A role that does not own the tables (the README's runtime role) leaves
// it to autovacuum.
import type { Db } from './db.js';

const MIN_DEAD_ROWS = 1_000;

export class Vacuum {
  private readonly busy = new Set<string>();
  private readonly passes = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly enabled: boolean,
  ) {}

  /** Starts a pass over `tables` (of this schema) in the background; the caller does not wait for it. */
  after(tables: readonly string[]): void {
    if (!this.enabled || this.closed) return;
    const wanted = tables.filter((t) => !this.busy.has(t));
    if (wanted.length === 0) return;
    for (const t of wanted) this.busy.add(t);
    const pass = this.pass(wanted).finally(() => {
      for (const t of wanted) this.busy.delete(t);
      this.passes.delete(pass);
    });
    this.passes.add(pass);
  }

  /** No new passes; resolves when the running ones are done (before the pool closes). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.passes);
  }

  private async pass(tables: string[]): Promise<void> {
    try {
      const { rows } = await this.db.pool.query({
        text: `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
                WHERE s.schemaname = $1 AND s.relname = ANY($2::text[])
                  AND s.n_dead_tup > greatest($3, 0.2 * s.n_live_tup) AND pg_has_role(c.relowner, 'USAGE')`,
        values: [this.db.names.name, tables, MIN_DEAD_ROWS],
      });
      // One at a time: a pass reads the whole table and its indexes. SKIP_LOCKED: another
      // process's VACUUM (or autovacuum) of the same table is already doing the work.
      for (const r of rows as { relname: string }[]) {
        if (this.closed) return;
        await this.db.pool.query({ text: `VACUUM (SKIP_LOCKED) ${this.db.names.ident}."${r.relname}"` });
      }
    } catch (err) {
      this.db.logger.warn({ tables, err }, 'VACUUM after retention failed; autovacuum will get to it');
    }
  }
}
