// Throwaway servers for tests that take a server down (restarts, reconnects, health probes,
// chaos runs): each on a free loopback port with its own temp dir, never the shared service.
// Driver-free — readiness is probed over raw TCP or with pg_isready — so any adapter's tests and
// the chaos command can use them.
//
// - Redis: stopped with SIGKILL (no shutdown save). With AOF and `appendfsync always` every
//   acknowledged write is on disk before the reply, so a restart keeps everything; a Redis that
//   persists nothing comes back empty.
// - NATS: stopped with SIGTERM (JetStream flushes its store), started again on the same store dir.
// - Postgres: a cluster made with initdb (trust auth), stopped with `pg_ctl -m immediate` (crash
//   recovery from the WAL at the next start).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Takes it down (Redis: SIGKILL; NATS: SIGTERM; Postgres: pg_ctl -m immediate) and waits until it is down. */
  stop(): Promise<void>;
  /** Brings it back on the same port and data; resolves once it answers. */
  start(): Promise<void>;
  /** stop() then start(); resolves with the downtime in ms. */
  restart(): Promise<number>;
  /** Stops it and removes its dir. */
  destroy(): Promise<void>;
  /** Last resort on process exit: kills the server synchronously so nothing outlives the run. */
  killNow(): void;
}

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const hasNatsServer = existsSync(NATS_SERVER_BIN);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` (bounded) until it resolves true. */
async function waitUp(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Connects over TCP, optionally writes `send`, and resolves with what the server says first (≤ 500 ms). */
function firstReply(port: number, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    let got = '';
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(got);
    };
    socket.setTimeout(500, () => done(new Error('timeout')));
    socket.on('error', done);
    socket.on('connect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString('utf8');
      if (got.includes('\r\n')) done();
    });
  });
}

export async function startThrowawayRedis(options: { persistence?: 'aof' | 'none' } = {}): Promise<ThrowawayServer> {
  const persistence = options.persistence ?? 'aof';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  const persist = persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let child: ChildProcess | null = null;
  const start = async () => {
    // --save '': no RDB snapshots, so what survives a restart is exactly what the AOF holds (or nothing).
    child = spawn(REDIS_SERVER_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persist, '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' });
    await waitUp(`throwaway redis-server on port ${port}`, async () => (await firstReply(port, 'PING\r\n')).startsWith('+PONG'));
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c === null) return;
    c.kill('SIGKILL');
    await exitOf(c);
  };
  await start();
  return server(`redis-server :${port} (${persistence === 'aof' ? 'AOF appendfsync always' : 'no persistence'})`, port, `redis://127.0.0.1:${port}`, {
    start,
    stop,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    killNow: () => child?.kill('SIGKILL'),
  });
}

export async function startThrowawayNats(): Promise<ThrowawayServer> {
  if (!hasNatsServer) throw new Error(`No nats-server at ${NATS_SERVER_BIN} (set NATS_SERVER_BIN).`);
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'baton-nats-'));
  let child: ChildProcess | null = null;
  // The server greets with `INFO {json}`; JetStream is ready once it says so.
  const probe = async () => {
    const line = await firstReply(port);
    if (!line.startsWith('INFO ')) return false;
    return (JSON.parse(line.slice(5).trim()) as { jetstream?: boolean }).jetstream === true;
  };
  const start = async () => {
    child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '-l', join(dir, 'server.log')], { stdio: 'ignore' });
    await waitUp(`throwaway nats-server at ${url}`, probe);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c === null) return;
    c.kill('SIGTERM');
    // A graceful stop that hangs is cut short: tests must stay bounded.
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exitOf(c);
    clearTimeout(timer);
  };
  await start();
  return server(`nats-server -js :${port}`, port, url, { start, stop, remove: () => rmSync(dir, { recursive: true, force: true }), killNow: () => child?.kill('SIGKILL') });
}

/** uid/gid of the `postgres` account: initdb and postgres refuse to run as root. */
function postgresAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('Running as root and there is no postgres account to run initdb and postgres as.');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(bin: string, args: string[], account: { uid: number; gid: number } | null, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, ...(account ?? {}) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function startThrowawayPostgres(): Promise<ThrowawayServer> {
  const initdb = join(PG_BIN, 'initdb');
  const pgCtl = join(PG_BIN, 'pg_ctl');
  const isReady = join(PG_BIN, 'pg_isready');
  if (!existsSync(initdb) || !existsSync(pgCtl)) throw new Error(`No initdb / pg_ctl in ${PG_BIN} (set PG_BIN).`);
  const account = postgresAccount();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-pg-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  if (account) {
    chownSync(dir, account.uid, account.gid);
    chownSync(data, account.uid, account.gid);
  }
  // --no-sync only skips fsync while initdb writes the template files; the server runs with fsync on.
  await run(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], account);
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200 -c fsync=on -c synchronous_commit=on`;
  const start = async () => {
    await run(pgCtl, ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', opts, 'start'], account, 90_000);
    await waitUp(`throwaway postgres on port ${port}`, () => run(isReady, ['-h', '127.0.0.1', '-p', String(port), '-q'], null, 5_000).then(() => true));
  };
  const stop = () => run(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop'], account, 90_000).then(() => undefined);
  await start();
  return server(`postgres :${port} (initdb, restarted with pg_ctl -m immediate)`, port, `postgres://postgres@127.0.0.1:${port}/postgres`, {
    start,
    stop,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    killNow() {
      // postmaster.pid's first line is the postmaster's pid; SIGQUIT is an immediate shutdown.
      try {
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
      } catch {
        // not running
      }
    },
  });
}

function server(
  name: string,
  port: number,
  url: string,
  parts: { start(): Promise<void>; stop(): Promise<void>; remove(): void; killNow(): void },
): ThrowawayServer {
  return {
    name,
    port,
    url,
    start: parts.start,
    stop: parts.stop,
    async restart() {
      const t0 = Date.now();
      await parts.stop();
      await parts.start();
      return Date.now() - t0;
    },
    async destroy() {
      await parts.stop().catch(() => undefined);
      parts.remove();
    },
    killNow: parts.killNow,
  };
}
