// What a benchmark reads off the Postgres server itself: a schema's table statistics, the
// server's CPU time (from /proc, so only for a server on this machine) and the WAL it wrote.
import { readFileSync, readdirSync } from 'node:fs';
import { withPg } from './services.js';

export interface TableStats {
  ins: number;
  upd: number;
  hot: number;
  del: number;
  bytes: number;
  indexes: number;
}

export async function tableStats(schema: string): Promise<Map<string, TableStats>> {
  return withPg(async (c) => {
    // Statistics reach the shared view shortly after a server process exits.
    await new Promise((res) => setTimeout(res, 500));
    const { rows } = await c.query<{ relname: string; ins: string; upd: string; hot: string; del: string; bytes: string; indexes: string }>(
      `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del,
              pg_total_relation_size(relid) AS bytes, (SELECT count(*) FROM pg_index WHERE indrelid = relid) AS indexes
         FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    return new Map(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del), bytes: Number(r.bytes), indexes: Number(r.indexes) }]));
  });
}

/** CPU of the Postgres server in µs: live server processes plus the postmaster's waited-for children (exited backends). */
export async function serverCpuUs(): Promise<number | null> {
  const pid = await withPg(async (c) => {
    try {
      const dir = (await c.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`)).rows[0]!.d;
      return Number(readFileSync(`${dir}/postmaster.pid`, 'utf8').split('\n')[0]);
    } catch {
      return null;
    }
  });
  if (pid === null || !Number.isInteger(pid)) return null;
  const stat = (p: number | string): string[] | null => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    } catch {
      return null;
    }
  };
  const main = stat(pid);
  if (main === null) return null;
  // Fields after the command: 11 utime, 12 stime, 13 cutime, 14 cstime, 1 ppid (clock ticks of 10 ms).
  let ticks = Number(main[11]) + Number(main[12]) + Number(main[13]) + Number(main[14]);
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const f = stat(p);
    if (f !== null && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10_000;
}

/** The server's WAL position in bytes: the difference of two readings is the WAL written between them. */
export async function walBytes(): Promise<number> {
  return withPg(async (c) => Number((await c.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS b`)).rows[0]!.b));
}
