// The shared loopback services a run without server restarts uses, and the loopback guard every
// URL passes before anything connects: the chaos command kills processes and cuts connections,
// and must never be pointed at a server on another machine.

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function assertLoopback(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`The chaos command needs one loopback URL per server; ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))} is not a URL it can check.`);
  }
  // libpq-style ?host= would override the URL's host (e.g. a socket dir or another machine).
  const hosts = [u.hostname, ...u.searchParams.getAll('host')];
  for (const h of hosts) {
    if (!LOOPBACK.has(h)) throw new Error(`The chaos command only talks to loopback servers; ${u.protocol}//${h} is not one.`);
  }
}

/** The URL with an extra query parameter (application_name for Postgres connections). */
export function withParam(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}
