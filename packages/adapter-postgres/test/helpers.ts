// Shared by the adapter's tests: the database URL, a reachability probe (fail under CI, skip
// loudly otherwise), and throwaway schemas with random names that are dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const reachable = await probe();
if (!reachable) {
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at DATABASE_URL (CI=true): start it (see SERVICES.md).`);
  // eslint-disable-next-line no-console
  console.warn(`\n⚠️  SKIPPING @baton/postgres tests: PostgreSQL is not reachable at DATABASE_URL. Start it (see SERVICES.md) to run them.\n`);
}
export const skipReason = reachable ? '' : 'PostgreSQL unreachable';

export function randomSchema(prefix = 'bt'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function newPool(max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  pool.on('error', () => undefined);
  return pool;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
