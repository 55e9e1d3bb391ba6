// The MariaDB / MySQL backend: every port over one mysql2 pool and one table prefix. Pass your
// own `mysql2/promise` pool (it stays open on close) or a URI (the backend opens and closes its
// pool). `ready` checks the server, then applies or checks the migrations.
import {
  ConfigError,
  SchemaError,
  boolOption,
  intOption,
  redactUrl,
  silentLogger,
  validateName,
  type Backend,
  type BackendCapabilities,
  type Logger,
  type ReadyContext,
} from '@baton/core/adapter';
import { createPool, type Pool } from 'mysql2/promise';
import { MysqlCheckpointStore } from './mysql-checkpoint-store.js';
import { MysqlCoordinationStore } from './mysql-coordination-store.js';
import { Db } from './mysql-db.js';
import { mapMysqlError } from './mysql-errors.js';
import { MysqlEventLog } from './mysql-event-log.js';
import { MysqlHeartbeatStore } from './mysql-heartbeat-store.js';
import { assertSchemaCurrent, migrate } from './mysql-migrations.js';
import { MysqlQueue } from './mysql-queue.js';
import { MysqlTaskFlow } from './mysql-task-flow.js';
import { MysqlTaskStore } from './mysql-task-store.js';
import { MysqlTimerStore } from './mysql-timer-store.js';

export interface MysqlBackendOptions {
  /** Prefix of every table (lower-case letters, digits, underscore; ≤ 48 characters). @default 'baton_' */
  prefix?: string;
  /** The backend's name in logs and errors. @default 'mysql' */
  name?: string;
  /** Apply missing migrations on `ready` (needs DDL rights); false only checks the version. @default true */
  migrate?: boolean;
  /** Connections of the pool the backend opens from a URI (ignored for a pool you pass). @default 10 */
  poolSize?: number;
}

export interface MysqlBackend extends Backend {
  /** The table prefix in use. */
  readonly prefix: string;
}

const CAPABILITIES: BackendCapabilities = Object.freeze({
  durable: true,
  multiProcess: true,
  // enqueue({ transaction: connection }) writes the task, its delivery and its event on that connection.
  transactionalEnqueue: true,
  // No cross-process wake: waiting claims poll (every 50 ms) and are woken by this process's writes.
  pushWake: false,
  // Task and checkpoint writes append their events in the same transaction.
  atomicEvents: true,
});

const KNOWN_OPTIONS = new Set(['prefix', 'name', 'migrate', 'poolSize']);
/** Seconds a statement of our pool waits for a row lock before it fails (and the transaction is retried). */
const LOCK_WAIT_S = 10;
/** Seconds MariaDB lets a transaction of our pool sit idle (client silent) before it ends the connection. */
const IDLE_TRANSACTION_S = 5;

/** MariaDB 10.6 and MySQL 8.0.1 brought SKIP LOCKED, which the claim needs. */
const MIN_MARIADB = [10, 6];
const MIN_MYSQL = [8, 0];

/** A complete Backend on MariaDB 10.6+ / MySQL 8+. */
export function mysqlBackend(poolOrUri: Pool | string, options: MysqlBackendOptions = {}): MysqlBackend {
  if (options === null || typeof options !== 'object') throw new ConfigError('mysqlBackend options must be an object { prefix?, name?, migrate?, poolSize? }.');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigError(`mysqlBackend: unknown option "${key}"; known: ${[...KNOWN_OPTIONS].join(', ')}.`);
  }
  const prefix = validateName('prefix', options.prefix ?? 'baton_');
  const name = options.name ?? 'mysql';
  if (typeof name !== 'string' || name.length === 0 || name.length > 100) throw new ConfigError(`name must be a non-empty string of at most 100 characters; got ${typeof name}.`);
  const shouldMigrate = boolOption('migrate', options.migrate, true);
  const poolSize = intOption('poolSize', options.poolSize, 10, 2, 1000);
  const { pool, ownPool } = openPool(poolOrUri, poolSize);

  let logger: Logger = silentLogger;
  const db: Db = new Db({
    pool,
    prefix,
    ownPool,
    init: async () => {
      await checkServer(pool, prefix);
      if (shouldMigrate) await migrate(pool, prefix, logger);
      else await assertSchemaCurrent(pool, prefix);
    },
  });
  const queue = new MysqlQueue(db);
  const tasks = new MysqlTaskStore(db);
  const checkpoints = new MysqlCheckpointStore(db);
  let closing: Promise<void> | null = null;

  return {
    name,
    prefix,
    capabilities: CAPABILITIES,
    queue,
    tasks,
    checkpoints,
    flow: new MysqlTaskFlow(db, queue, tasks, checkpoints),
    timers: new MysqlTimerStore(db),
    heartbeats: new MysqlHeartbeatStore(db),
    events: new MysqlEventLog(db),
    coordination: new MysqlCoordinationStore(db),
    async ready(context: ReadyContext) {
      logger = context.logger.child({ backend: name, prefix });
      await db.ready();
    },
    close() {
      closing ??= (async () => {
        db.close();
        queue.waker.clear();
        queue.waker.wake();
        if (ownPool) await pool.end().catch((err: unknown) => logger.warn({ err }, 'closing the MySQL pool failed'));
      })();
      return closing;
    },
  };
}

function openPool(poolOrUri: unknown, poolSize: number): { pool: Pool; ownPool: boolean } {
  if (typeof poolOrUri === 'string') {
    let url: URL;
    try {
      url = new URL(poolOrUri);
    } catch {
      throw new ConfigError(`mysqlBackend needs a mysql2/promise pool or a URI such as mysql://user@127.0.0.1:3306/mydb; got ${JSON.stringify(redactUrl(poolOrUri).slice(0, 80))}.`);
    }
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') throw new ConfigError(`mysqlBackend: the URI must start with mysql://; got ${url.protocol}//…`);
    if (url.protocol === 'mariadb:') url.protocol = 'mysql:';
    const pool = createPool({
      uri: url.toString(),
      connectionLimit: poolSize,
      charset: 'utf8mb4',
      // A server that does not answer fails the call within seconds, as BackendUnavailableError.
      connectTimeout: 3_000,
      enableKeepAlive: true,
      supportBigNumbers: true,
    });
    // Our own connections run every transaction at READ COMMITTED (see mysql-db.ts); set once per connection.
    pool.on('connection', (conn: unknown) => {
      const c = conn as { query(sql: string, cb: () => void): void };
      c.query(`SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_S}`, () => undefined);
      // A process frozen mid-transaction (SIGSTOP, a VM pause) would hold its row locks until it
      // thaws, stalling every claim and lease takeover that needs those rows. Baton's transactions
      // never wait on the client for long, so MariaDB may end one idle this long (the thawed
      // worker's next statement then fails and is retried on a fresh connection). MySQL has no
      // such variable: the SET fails there and is ignored (see the README).
      c.query(`SET SESSION idle_transaction_timeout = ${IDLE_TRANSACTION_S}`, () => undefined);
    });
    return { pool, ownPool: true };
  }
  if (typeof poolOrUri === 'object' && poolOrUri !== null) {
    const p = poolOrUri as { getConnection?: unknown; query?: unknown; promise?: unknown; pool?: unknown };
    // A callback pool (mysql2's createPool) converts to its promise wrapper.
    if (typeof p.promise === 'function' && p.pool === undefined) return openPool((p.promise as () => unknown).call(poolOrUri), poolSize);
    if (typeof p.getConnection === 'function' && typeof p.query === 'function') return { pool: poolOrUri as Pool, ownPool: false };
  }
  throw new ConfigError('mysqlBackend needs a mysql2/promise pool (createPool from "mysql2/promise") or a URI such as mysql://user@127.0.0.1:3306/mydb.');
}

/** Refuses a server without SKIP LOCKED, and a session whose sql_mode breaks mysql2's escaping of `?` parameters. */
async function checkServer(pool: Pool, prefix: string): Promise<void> {
  let row: { v: unknown; mode: unknown } | undefined;
  try {
    const [rows] = await pool.query('SELECT VERSION() AS v, @@SESSION.sql_mode AS mode');
    row = (rows as { v: unknown; mode: unknown }[])[0];
  } catch (err) {
    throw mapMysqlError(err, 'backend.ready', prefix);
  }
  const version = String(row?.v ?? '');
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  const [needMajor, needMinor] = /mariadb/i.test(version) ? MIN_MARIADB : MIN_MYSQL;
  if (major < needMajor! || (major === needMajor && minor < needMinor!)) {
    throw new SchemaError(`backend.ready: server ${version} lacks FOR UPDATE SKIP LOCKED; @baton/mysql needs MariaDB 10.6+ or MySQL 8.0+.`);
  }
  if (String(row?.mode ?? '').includes('NO_BACKSLASH_ESCAPES')) {
    throw new ConfigError('backend.ready: the session sql_mode has NO_BACKSLASH_ESCAPES, under which mysql2 cannot escape parameters safely; remove it for Baton\'s connections.');
  }
}
