// Shared by the adapter's tests: the server URL, a reachability probe (fail under CI, skip
// loudly otherwise), and throwaway table prefixes that are dropped afterwards.
import { randomBytes } from 'node:crypto';
import { createConnection, createPool, type Pool } from 'mysql2/promise';

export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

async function probe(): Promise<boolean> {
  try {
    const conn = await createConnection({ uri: MYSQL_URL, connectTimeout: 2_000 });
    try {
      await conn.query('SELECT 1');
      return true;
    } finally {
      await conn.end().catch(() => undefined);
    }
  } catch {
    return false;
  }
}

export const reachable = await probe();
if (!reachable) {
  if (process.env.CI === 'true') throw new Error('MySQL/MariaDB is not reachable at MYSQL_URL (CI=true): start it (.ci/run does).');
  // eslint-disable-next-line no-console
  console.warn('\n⚠️  SKIPPING @baton/mysql tests: MySQL/MariaDB is not reachable at MYSQL_URL. Start it to run them.\n');
}
export const skipReason = reachable ? '' : 'MySQL unreachable';

export function randomPrefix(tag = 'bt'): string {
  return `${tag}_${randomBytes(5).toString('hex')}_`;
}

export function newPool(max = 4): Pool {
  return createPool({ uri: MYSQL_URL, connectionLimit: max, charset: 'utf8mb4' });
}

let admin: Pool | null = null;

/** A small pool for tests that write behind the adapter's back. */
export function adminPool(): Pool {
  admin ??= newPool(2);
  return admin;
}

/** Drops every table whose name starts with `prefix` (the prefix is checked before it reaches SQL). */
export async function dropPrefix(prefix: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(prefix)) throw new Error(`refusing to drop tables of prefix ${JSON.stringify(prefix)}`);
  const conn = await createConnection({ uri: MYSQL_URL });
  try {
    const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix.replaceAll('_', '\\_')}%`]);
    const tables = (rows as { t: string }[]).map((r) => r.t).filter((t) => t.startsWith(prefix));
    if (tables.length > 0) await conn.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`);
  } finally {
    await conn.end();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
