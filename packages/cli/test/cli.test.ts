// The `baton` command end to end, as an operator runs it: the real bin in a child process against
// SQLite, Redis, Postgres, NATS and MySQL — find a dead task, inspect it, retry it to completion, tail
// events written by another process, confirm destructive commands on a terminal.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createBaton, PermanentError, silentLogger, type Backend, type Baton } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';
import { redisBackend } from '@baton/redis';
import { postgresBackend } from '@baton/postgres';
import { natsBackend } from '@baton/nats';
import { mysqlBackend } from '@baton/mysql';
import { createConnection } from 'mysql2/promise';
import { Redis } from 'ioredis';
import pg from 'pg';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const built = join(root, 'packages/cli/dist/bin.js');
const source = join(root, 'packages/cli/src/bin.ts');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ns = `cli_${process.pid}_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'baton-cli-'));

interface Target {
  name: string;
  url: string;
  backend(): Backend;
  cleanup(): Promise<void>;
}

const pools: pg.Pool[] = [];
const TARGETS: Target[] = [
  { name: 'sqlite', url: `sqlite:${join(dir, 'cli.db')}`, backend: () => sqliteBackend({ file: join(dir, 'cli.db') }), cleanup: async () => undefined },
  {
    name: 'redis',
    url: `${REDIS_URL}?prefix=${ns}`,
    backend: () => redisBackend(new Redis(REDIS_URL), { prefix: ns }),
    async cleanup() {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`{${ns}}:*`);
      if (keys.length > 0) await r.del(...keys);
      await r.quit();
    },
  },
  {
    name: 'postgres',
    url: `${DATABASE_URL}?schema=${ns}`,
    backend: () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
      pools.push(pool);
      return postgresBackend(pool, { schema: ns });
    },
    async cleanup() {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${ns}" CASCADE`);
      await c.end();
      await Promise.all(pools.map((p) => p.end()));
    },
  },
  { name: 'nats', url: `${NATS_URL}?prefix=${ns}`, backend: () => natsBackend(NATS_URL, { prefix: ns }), cleanup: async () => undefined },
  {
    name: 'mysql',
    url: `${MYSQL_URL}?prefix=${ns}`,
    backend: () => mysqlBackend(MYSQL_URL, { prefix: ns }),
    async cleanup() {
      const conn = await createConnection({ uri: MYSQL_URL });
      const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${ns}%`]);
      const tables = (rows as { t: string }[]).map((r) => r.t).filter((t) => t.startsWith(ns));
      if (tables.length > 0) await conn.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`);
      await conn.end();
    },
  },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the real bin (built when present, else from source) and collects its output. */
function baton(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const cmd = existsSync(built) ? [built] : ['--import', 'tsx', source];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cmd, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** Runs the bin on a pseudo-terminal (util-linux `script`), answering its prompt with `answer`. */
function onTerminal(args: string[], answer: string): Promise<Run> {
  const cmd = existsSync(built) ? `node ${built}` : `node --import tsx ${source}`;
  const line = `${cmd} ${args.map((a) => `'${a}'`).join(' ')}`;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let answered = false;
    // The command may exit before reading the answer; a write to its closed pty is not an error here.
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!answered && stdout.includes('[y/N]')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr: '', ms: Date.now() - started }));
  });
}

const batons: Baton[] = [];
afterAll(async () => {
  for (const b of batons) await b.close().catch(() => undefined);
  for (const t of TARGETS) await t.cleanup().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe.each(TARGETS)('baton CLI on $name', (target) => {
  let fix = false;
  const worker = (): Baton => {
    const b = createBaton({ backend: target.backend(), logger: silentLogger, worker: { pollIntervalMs: 50 }, retry: { baseMs: 20, maxRetries: 0 } });
    b.register('report', (input: { n: number }) => {
      if (input.n === 0 && !fix) throw new PermanentError('the report template is missing');
      return { n: input.n };
    }, { queue: 'reports' });
    batons.push(b);
    return b;
  };
  const at = (...args: string[]) => ['--backend', target.url, ...args];

  it('finds a dead task, shows why, retries it to completion — from the terminal alone', async () => {
    const w = worker();
    const ids = await w.enqueueMany([0, 1, 2].map((n) => ({ type: 'report', input: { n } })));
    await w.start();
    for (const r of ids) await w.waitFor(r.taskId, { timeoutMs: 20_000, pollMs: 50 });

    const stats = await baton(at('stats', '--json'));
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toContainEqual(expect.objectContaining({ key: 'reports', counts: expect.objectContaining({ dead: 1, completed: 2 }) }));

    const dead = await baton(at('ls', '--state', 'dead', '--json'));
    const [task] = (JSON.parse(dead.stdout) as { tasks: { id: string }[] }).tasks;
    expect(task?.id).toBe(ids[0]!.taskId);
    const human = await baton(at('ls', '--state', 'dead'));
    expect(human.stdout).toContain(ids[0]!.taskId);
    expect(human.stdout).toContain('the report template is missing');

    const show = await baton(at('show', task!.id));
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('PERMANENT: the report template is missing');
    expect(show.stdout).toMatch(/task\.enqueued[\s\S]*task\.started[\s\S]*task\.dead/);

    fix = true;
    const retried = await baton(at('retry', task!.id));
    expect(retried.code).toBe(0);
    const done = await w.waitFor(task!.id, { timeoutMs: 20_000, pollMs: 50 });
    expect(done).toMatchObject({ state: 'completed', result: { n: 0 }, error: null });
    // A task that has not finished cannot be retried; an unknown id is not found: both exit 1.
    const waiting = await w.enqueue('unserved', {}, { queue: 'nobody-serves-this' });
    expect((await baton(at('retry', waiting.taskId))).code).toBe(1);
    expect((await baton(at('show', 'no-such-task'))).code).toBe(1);
  }, 90_000);

  it('tail prints events another process appends, until interrupted', async () => {
    const producer = createBaton({ backend: target.backend(), logger: silentLogger });
    batons.push(producer);
    const cmd = existsSync(built) ? [built] : ['--import', 'tsx', source];
    const child = spawn(process.execPath, [...cmd, ...at('tail', '--json', '--type', 'task.enqueued', '--poll-ms', '100')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // It follows from "now": produce only once it says it is following.
    for (let i = 0; i < 300 && !err.includes('following'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(err).toContain('following');
    const { taskId } = await producer.enqueue('report', { n: 99 }, { queue: 'tailed' });
    const deadline = Date.now() + 15_000;
    while (!out.includes(taskId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; taskId: string });
    expect(lines.some((e) => e.type === 'task.enqueued' && e.taskId === taskId)).toBe(true);
  }, 60_000);

  it('asks before a destructive change on a terminal, and refuses without --yes elsewhere', async () => {
    const refused = await baton(at('purge', '--older-than', '1ms', '--state', 'completed'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes/);
    const declined = await onTerminal(at('purge', '--older-than', '1ms', '--state', 'completed'), 'n');
    expect(declined.stdout).toMatch(/Delete \d+ finished task/);
    expect(declined.code).toBe(4);
    const before = JSON.parse((await baton(at('purge', '--older-than', '1ms', '--state', 'completed', '--dry-run', '--json'))).stdout) as { wouldDelete: number };
    expect(before.wouldDelete).toBeGreaterThan(0);
    const accepted = await onTerminal(at('purge', '--older-than', '1ms', '--state', 'completed'), 'y');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(`deleted ${before.wouldDelete} task`);
  }, 60_000);

  it('pauses and resumes a queue', async () => {
    expect((await baton(at('pause', 'reports'))).stdout).toContain('reports: paused');
    const queues = JSON.parse((await baton(at('queues', '--json'))).stdout) as { name: string; paused: boolean }[];
    expect(queues.find((q) => q.name === 'reports')?.paused).toBe(true);
    expect((await baton(at('resume', 'reports'))).stdout).toContain('reports: running');
  }, 30_000);
});

describe('baton CLI: migrate', () => {
  const schema = `${ns}_mig`;
  afterAll(async () => {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });

  it('migrates a fresh Postgres schema once, never printing the password; the deprecated baton-postgres alias still does', async () => {
    const url = new URL(DATABASE_URL);
    url.password = 's3cret-pw';
    url.searchParams.set('schema', schema);
    const first = await baton(['--backend', url.toString(), 'migrate']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/schema is up to date/);
    expect(first.stdout + first.stderr).not.toContain('s3cret-pw');
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT to_regclass($1) AS t`, [`"${schema}".tasks`]);
      expect(rows[0].t).not.toBeNull();
    } finally {
      await c.end();
    }
    expect((await baton(['--backend', url.toString(), 'migrate'])).code).toBe(0);
    const alias = join(root, existsSync(built) ? 'packages/cli/dist/baton-postgres.js' : 'packages/cli/src/baton-postgres.ts');
    const viaAlias = await new Promise<Run>((resolve) => {
      const args = existsSync(built) ? [alias] : ['--import', 'tsx', alias];
      const child = spawn(process.execPath, [...args, 'migrate', '--schema', schema, '--url', DATABASE_URL], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr, ms: 0 }));
    });
    expect(viaAlias.code, viaAlias.stderr).toBe(0);
    expect(viaAlias.stderr).toMatch(/deprecated/);
    expect((await baton(['--backend', `${DATABASE_URL}?schema=Bad-Name`, 'migrate'])).code).not.toBe(0);
  }, 60_000);
});

describe('baton CLI: bad input and unreachable servers', () => {
  it('prints one line and exits non-zero within 5 s for an unreachable server, never a password or a stack', async () => {
    for (const url of ['postgres://ops:hunter2@127.0.0.1:1/prod?schema=baton', 'redis://:hunter2@127.0.0.1:1', 'nats://ops:hunter2@127.0.0.1:1']) {
      const r = await baton(['--backend', url, 'stats']);
      expect(r.code, url).toBe(3);
      expect(r.ms).toBeLessThan(8_000);
      expect(r.stderr).not.toContain('hunter2');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('refuses unknown commands, flags, schemes and missing backends with exit code 2', async () => {
    expect((await baton(['frobnicate'])).code).toBe(2);
    expect((await baton(['--backend', 'sqlite:/tmp/x.db', 'ls', '--colour'])).code).toBe(2);
    expect((await baton(['--backend', 'ftp://x', 'stats'])).code).toBe(2);
    const none = await baton(['stats'], { env: { BATON_BACKEND: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--backend/);
  }, 30_000);

  it('has --help on every command, printed in full in the README', async () => {
    const readme = readFileSync(join(root, 'packages/cli/README.md'), 'utf8');
    for (const c of ['stats', 'queues', 'ls', 'show', 'retry', 'cancel', 'pause', 'resume', 'tail', 'purge', 'migrate']) {
      const r = await baton([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/^Usage: baton/);
      expect(readme, `README help of ${c}`).toContain(r.stdout.trim());
    }
    const all = await baton(['--help']);
    expect(all.stdout).toMatch(/Exit codes/);
    expect(readme).toContain(all.stdout.trim());
  }, 60_000);
});
