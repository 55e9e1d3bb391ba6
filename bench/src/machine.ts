// What the numbers were measured on: CPU, memory, Node, load, and each server's version.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { NATS_URL, assertLoopback, withPg, withRedis } from './services.js';
import { withDeadline } from './time.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  redis: string;
  postgres: string;
  nats: string;
  loadStart: number[];
  loadEnd?: number[];
  /** The floor under every awaited one-by-one call: a bare round trip to each server. */
  roundTripStart: string;
  roundTripEnd?: string;
  /** The code measured: commit, and the source files that differed from it when the run started. */
  code: string;
}

function describeCode(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: resolve(import.meta.dirname, '../..'), timeout: 5_000, encoding: 'utf8' }).trim();
  try {
    const head = git('log', '-1', '--format=%h %cI');
    const dirty = git('status', '--porcelain', '--', 'packages', 'migrations')
      .split('\n')
      .filter((l) => l.trim() !== '' && /\.(ts|sql|lua)$/.test(l) && !l.includes('/test/'));
    return dirty.length === 0 ? `commit ${head}` : `commit ${head} plus ${dirty.length} uncommitted source file(s) under packages/ and migrations/`;
  } catch {
    return 'unknown (git unavailable)';
  }
}

async function version(what: string, fn: () => Promise<string>): Promise<string> {
  try {
    return await withDeadline(fn(), 5_000, `${what} version`);
  } catch (err) {
    return `unreachable (${(err as Error).message.split('\n')[0]})`;
  }
}

async function natsVersion(): Promise<string> {
  assertLoopback(NATS_URL.replace(/^nats:/, 'http:'));
  const spec: string = '@nats-io/transport-node';
  const mod = (await import(spec)) as { connect(o: { servers: string; timeout: number }): Promise<{ info?: { version?: string; jetstream?: boolean }; close(): Promise<void> }> };
  const nc = await mod.connect({ servers: NATS_URL, timeout: 2_000 });
  try {
    return `${nc.info?.version ?? '?'}${nc.info?.jetstream ? ' (JetStream)' : ''}`;
  } finally {
    await nc.close();
  }
}

/** Mean µs of `n` awaited calls, after a warm-up. */
async function meanMicros(call: () => Promise<unknown>, n = 2_000): Promise<number> {
  for (let i = 0; i < 200; i++) await call();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Math.round(Number(process.hrtime.bigint() - t) / 1_000 / n);
}

/** An awaited Redis PING and Postgres `SELECT 1`: what one awaited call costs before any work is done. */
export async function roundTrips(): Promise<string> {
  const redis = await version('Redis round trip', () => withRedis(async (r) => `${await meanMicros(() => r.ping())} µs`));
  const pg = await version('Postgres round trip', () => withPg(async (c) => `${await meanMicros(() => c.query('SELECT 1'))} µs`));
  return `Redis PING ${redis}, Postgres SELECT 1 ${pg} (mean of 2,000 awaited one by one)`;
}

export async function describeMachine(): Promise<Machine> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: await version('Redis', () => withRedis(async (r) => /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? '?')),
    postgres: await version('Postgres', () => withPg(async (c) => (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? '?')),
    nats: await version('NATS', natsVersion),
    loadStart: loadavg().map((x) => Math.round(x * 100) / 100),
    roundTripStart: await roundTrips(),
    code: describeCode(),
  };
}
