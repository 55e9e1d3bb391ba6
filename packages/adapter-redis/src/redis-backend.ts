// redisBackend(): all six ports on one Redis (or Redis Cluster: every key shares the `{prefix}`
// hash tag). Accepts the application's ioredis client — its TLS, ACL, Sentinel or Cluster setup —
// or a URL, in which case the backend owns the connection and closes it.
import { ConfigError, redactUrl, silentLogger, type Backend, type BackendCapabilities, type Logger, type TaskFlow } from '@baton/core';
import { makeKeys } from './keys.js';
import { checkPersistence, type PersistenceReport } from './persistence-check.js';
import { RedisCheckpointStore } from './redis-checkpoint-store.js';
import { createClient, describeClient, type RedisClient } from './redis-client.js';
import { RedisConnection } from './redis-connection.js';
import { RedisEventLog } from './redis-event-log.js';
import { RedisHeartbeatStore } from './redis-heartbeat-store.js';
import { RedisQueue } from './redis-queue.js';
import { RedisTaskFlow } from './redis-task-flow.js';
import { RedisTaskStore } from './redis-task-store.js';
import { RedisTimerStore } from './redis-timer-store.js';

export interface RedisBackendOptions {
  /** Key prefix (lower-case letters, digits, underscore); also the Cluster hash tag. @default 'baton' */
  prefix?: string;
  /** pino-compatible logger for connection errors and persistence warnings. @default silent */
  logger?: Logger;
  /** @default 'redis' */
  name?: string;
  /** Consumer name of this process in the queue's consumer group. @default host:pid:random */
  consumer?: string;
  /** Most events kept (the oldest are dropped first), a backstop behind retention. @default 1_000_000 */
  eventsMaxLen?: number;
  /** Read maxmemory-policy / appendonly at start and warn when data can be lost. @default true */
  checkPersistence?: boolean;
}

export interface RedisBackend extends Backend {
  /** Settles once the persistence settings were read (null when the check is off). */
  readonly persistence: Promise<PersistenceReport | null>;
  /** create+enqueue, claim+start and finish+settle as one script each. */
  readonly flow: TaskFlow;
}

const CAPABILITIES: BackendCapabilities = Object.freeze({
  // As durable as the Redis it runs on: see the persistence warning logged at start.
  durable: true,
  multiProcess: true,
  transactionalEnqueue: false,
  pushWake: true,
});

/** A complete Baton backend on Redis. `redisOrUrl`: an ioredis `Redis` / `Cluster`, or a redis:// URL. */
export function redisBackend(redisOrUrl: RedisClient | string, options: RedisBackendOptions = {}): RedisBackend {
  const logger = options.logger ?? silentLogger;
  const keys = makeKeys(options.prefix ?? 'baton');
  const eventsMaxLen = options.eventsMaxLen ?? 1_000_000;
  if (!Number.isInteger(eventsMaxLen) || eventsMaxLen < 1) {
    throw new ConfigError(`eventsMaxLen must be a positive integer; got ${String(options.eventsMaxLen)}.`);
  }
  let client: RedisClient;
  let target: string;
  const owned = typeof redisOrUrl === 'string';
  if (typeof redisOrUrl === 'string') {
    if (!/^rediss?:\/\//.test(redisOrUrl)) {
      throw new ConfigError(`redisBackend needs an ioredis client or a redis:// / rediss:// URL; got ${JSON.stringify(redactUrl(redisOrUrl))}.`);
    }
    target = redactUrl(redisOrUrl);
    client = createClient(redisOrUrl);
  } else if (redisOrUrl !== null && typeof redisOrUrl === 'object' && typeof redisOrUrl.call === 'function') {
    client = redisOrUrl;
    target = describeClient(client);
    const keyPrefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
    if (typeof keyPrefix === 'string' && keyPrefix !== '') {
      throw new ConfigError(
        `The ioredis client has keyPrefix ${JSON.stringify(keyPrefix)}; Baton's scripts build keys themselves and cannot honour it. Pass a client without keyPrefix and use redisBackend(client, { prefix }).`,
      );
    }
  } else {
    throw new ConfigError('redisBackend needs an ioredis Redis / Cluster instance or a redis:// URL.');
  }
  const log = logger.child({ backend: 'redis', prefix: keys.P });
  const conn = new RedisConnection({ client, owned, target, keyPrefix: keys.P, logger: log });
  const queue = new RedisQueue(conn, keys, options.consumer);
  const tasks = new RedisTaskStore(conn, keys, eventsMaxLen);
  const flow = new RedisTaskFlow(conn, keys, queue, tasks, eventsMaxLen);
  const persistence =
    options.checkPersistence === false
      ? Promise.resolve(null)
      : checkPersistence(client, target, log).catch((err: unknown) => {
          log.debug({ err }, 'persistence check failed');
          return null;
        });
  return {
    name: options.name ?? 'redis',
    capabilities: CAPABILITIES,
    queue,
    tasks,
    checkpoints: new RedisCheckpointStore(conn, keys),
    timers: new RedisTimerStore(conn, keys),
    heartbeats: new RedisHeartbeatStore(conn, keys),
    events: new RedisEventLog(conn, keys, eventsMaxLen),
    persistence,
    flow,
    async close() {
      await conn.close(() => queue.removeConsumer());
    },
  };
}
