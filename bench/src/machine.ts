// What the numbers were measured on: CPU, memory, Node, load, and each server's version.
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
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
  };
}
