// A backend URL picks the adapter: sqlite:FILE, redis://, postgres://?schema=, nats://?prefix=,
// mysql://?prefix=. Adapters and drivers are loaded only when their URL is used, so the CLI needs
// just the ones a deployment runs. Credentials never leave this file unredacted.
import { BackendUnavailableError, ValidationError, redactUrl, type Backend } from '@baton/core';

export type BackendKind = 'sqlite' | 'redis' | 'postgres' | 'nats' | 'mysql';

export interface Connection {
  backend: Backend;
  /** Closes the backend and the clients the CLI opened for it. */
  close(): Promise<void>;
}

export interface BackendSpec {
  kind: BackendKind;
  /** The URL without its password, for messages. */
  display: string;
  /** Opens the backend (not yet ready). `migrate`: apply pending migrations at ready (SQL backends). */
  open(options: { migrate: boolean }): Promise<Connection>;
}

const HINT: Record<BackendKind, string> = {
  sqlite: '@baton/sqlite better-sqlite3',
  redis: '@baton/redis ioredis',
  postgres: '@baton/postgres pg',
  nats: '@baton/nats @nats-io/transport-node @nats-io/jetstream @nats-io/kv',
  mysql: '@baton/mysql mysql2',
};

async function load<T>(kind: BackendKind, specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    throw new BackendUnavailableError(`The ${kind} backend needs ${HINT[kind]}: install them next to @baton/cli (npm install ${HINT[kind]}).`, { cause: err });
  }
}

function param(url: URL, name: string, fallback: string): string {
  const v = url.searchParams.get(name);
  url.searchParams.delete(name);
  return v === null || v === '' ? fallback : v;
}

interface Factories {
  sqliteBackend(options: { file: string; migrate?: boolean }): Backend;
  redisBackend(client: unknown, options: { prefix: string }): Backend;
  postgresBackend(pool: unknown, options: { schema: string; migrate: boolean }): Backend;
  natsBackend(url: string, options: { prefix: string }): Backend;
  mysqlBackend(uri: string, options: { prefix: string; migrate: boolean }): Backend;
}

export function parseBackendUrl(raw: string | undefined): BackendSpec {
  if (!raw) throw new ValidationError('No backend: pass --backend <url> or set BATON_BACKEND (sqlite:./baton.db, redis://…, postgres://…?schema=…, nats://…, mysql://…).');
  const display = redactUrl(raw);
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file.length === 0) throw new ValidationError('sqlite: needs a file, e.g. sqlite:./baton.db');
    return {
      kind: 'sqlite',
      display,
      async open() {
        const { sqliteBackend } = await load<Pick<Factories, 'sqliteBackend'>>('sqlite', '@baton/sqlite');
        const backend = sqliteBackend({ file });
        return { backend, close: () => backend.close() };
      },
    };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(`Not a backend URL: ${display}. Use sqlite:FILE, redis://host:6379, postgres://user@host/db?schema=baton, nats://host:4222 or mysql://user@host/db.`);
  }
  switch (url.protocol) {
    case 'redis:':
    case 'rediss:': {
      const prefix = param(url, 'prefix', 'baton');
      return {
        kind: 'redis',
        display,
        async open() {
          const { redisBackend } = await load<Pick<Factories, 'redisBackend'>>('redis', '@baton/redis');
          const { Redis } = await load<{ Redis: new (url: string, options: object) => { quit(): Promise<unknown>; disconnect(): void } }>('redis', 'ioredis');
          // Fail fast instead of retrying forever: an operator wants an answer, not a hang.
          const client = new Redis(url.toString(), { maxRetriesPerRequest: 1, connectTimeout: 4_000, retryStrategy: () => null, lazyConnect: false });
          const backend = redisBackend(client, { prefix });
          return {
            backend,
            async close() {
              await backend.close();
              await client.quit().catch(() => client.disconnect());
            },
          };
        },
      };
    }
    case 'postgres:':
    case 'postgresql:': {
      const schema = param(url, 'schema', 'baton');
      return {
        kind: 'postgres',
        display,
        async open({ migrate }) {
          const { postgresBackend } = await load<Pick<Factories, 'postgresBackend'>>('postgres', '@baton/postgres');
          const pg = await load<{ default: { Pool: new (o: object) => { end(): Promise<void> } } }>('postgres', 'pg');
          const pool = new pg.default.Pool({ connectionString: url.toString(), max: 2, connectionTimeoutMillis: 4_000 });
          const backend = postgresBackend(pool, { schema, migrate });
          return {
            backend,
            async close() {
              await backend.close();
              await pool.end();
            },
          };
        },
      };
    }
    case 'nats:':
    case 'tls:': {
      const prefix = param(url, 'prefix', 'baton');
      return {
        kind: 'nats',
        display,
        async open() {
          const { natsBackend } = await load<Pick<Factories, 'natsBackend'>>('nats', '@baton/nats');
          const backend = natsBackend(url.toString(), { prefix });
          return { backend, close: () => backend.close() };
        },
      };
    }
    case 'mysql:':
    case 'mariadb:': {
      const prefix = param(url, 'prefix', 'baton');
      url.protocol = 'mysql:';
      return {
        kind: 'mysql',
        display,
        async open({ migrate }) {
          const { mysqlBackend } = await load<Pick<Factories, 'mysqlBackend'>>('mysql', '@baton/mysql');
          const backend = mysqlBackend(url.toString(), { prefix, migrate });
          return { backend, close: () => backend.close() };
        },
      };
    }
    default:
      throw new ValidationError(`Unknown backend scheme "${url.protocol}" in ${display}; use sqlite:, redis://, postgres://, nats:// or mysql://.`);
  }
}
