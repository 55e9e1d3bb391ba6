// Which pool a backend runs on: its own (from a connection string; ended on close) or the
// application's (used as it is: its TLS, auth and size; left open on close). Either way an idle
// pooled connection that dies is reported as a pool 'error' event, which unhandled would crash
// the process: the backend listens for it on its own pool, and on yours if you attached none.
import pg from 'pg';
import { ConfigError, intOption, redactUrl, type Logger } from '@baton/core/adapter';
import { logNotice } from './notifier.js';
import { isPool, type PgPool } from './pg-types.js';

export interface ResolvedPool {
  pool: PgPool;
  /** Ends the pool if the backend opened it; detaches the backend's listeners otherwise. */
  release(): Promise<void>;
}

/** `logger` is read at each event, so it logs through whatever logger the backend has by then. */
export function resolvePool(poolOrUrl: unknown, poolSize: unknown, logger: () => Logger): ResolvedPool {
  const onError = (err: Error) => logger().warn({ err }, 'idle PostgreSQL connection failed; the pool replaces it');
  if (typeof poolOrUrl === 'string') {
    if (poolOrUrl.trim() === '') throw new ConfigError('postgresBackend needs a pg.Pool or a connection string such as postgres://user@host:5432/db; got an empty string.');
    const max = intOption('poolSize', poolSize, 10, 2, 1000);
    const own = new pg.Pool({ connectionString: poolOrUrl, max });
    own.on('error', onError);
    own.on('connect', (client) => {
      // Server warnings on the backend's own connections reach the baton's log.
      client.on('notice', (notice) => logNotice(logger(), notice));
      // pg-pool hands a client to a waiting connect() with no 'error' listener, and the caller's
      // code runs only after the rest of the socket's buffered messages: a FATAL among them (the
      // server terminating the connection) would be an unhandled 'error' and crash the process.
      // Whoever holds the client still hears of it; this only keeps the process alive.
      client.on('error', () => undefined);
    });
    logger().debug({ url: redactUrl(poolOrUrl) }, 'created pool');
    return {
      pool: own,
      release: () => own.end().catch((err: unknown) => logger().warn({ err }, 'closing the pool failed')),
    };
  }
  if (!isPool(poolOrUrl)) {
    throw new ConfigError('postgresBackend needs a pg.Pool (or a structurally compatible pool with query, connect and end) or a connection string such as postgres://user@host:5432/db.');
  }
  const pool = poolOrUrl;
  if ((pool as { options?: { max?: unknown } }).options?.max === 1) {
    throw new ConfigError('The pg.Pool passed to postgresBackend has max: 1, but the backend holds one connection for LISTEN while workers wait; use max ≥ 2.');
  }
  const guard = pool.listenerCount('error') === 0;
  if (guard) pool.on('error', onError);
  return {
    pool,
    release: async () => {
      if (guard) pool.removeListener('error', onError);
    },
  };
}
