// redisBackend(): every port on one Redis (or Redis Cluster: every key shares the `{prefix}` hash
// tag). Takes the application's ioredis client — its TLS, ACL, Sentinel or Cluster setup — or a
// URL, in which case the backend owns the connection and closes it.
import {
  ConfigError,
  boolOption,
  intOption,
  redactUrl,
  validateName,
  type Backend,
  type BackendCapabilities,
  type ReadyContext,
} from '@baton/core/adapter';
import { makeKeys } from './keys.js';
import { checkPersistence, type PersistenceReport } from './persistence-check.js';
import { RedisCheckpointStore } from './redis-checkpoint-store.js';
import { createClient, describeClient, type RedisClient } from './redis-client.js';
import { RedisConnection } from './redis-connection.js';
import { RedisCoordinationStore } from './redis-coordination-store.js';
import { RedisEventLog } from './redis-event-log.js';
import { RedisHeartbeatStore } from './redis-heartbeat-store.js';
import { RedisQueue } from './redis-queue.js';
import { RedisTaskFlow } from './redis-task-flow.js';
import { RedisTaskStore } from './redis-task-store.js';
import { RedisTimerStore } from './redis-timer-store.js';

export interface RedisBackendOptions {
  /** Key prefix (lower-case letters, digits, underscore); also the Cluster hash tag. @default 'baton' */
  prefix?: string;
  /** @default 'redis' */
  name?: string;
  /** Most events kept (the oldest are dropped first), a backstop behind retention. @default 1_000_000 */
  eventsMaxLen?: number;
  /** Read maxmemory-policy / appendonly in `ready` and warn when data can be lost. @default true */
  checkPersistence?: boolean;
}

export interface RedisBackend extends Backend {
  /** The key prefix, with braces and colon: `{prefix}:`. Every key of this backend starts with it. */
  readonly prefix: string;
  /** What the persistence check found in `ready` (null before it ran, or with `checkPersistence: false`). */
  readonly persistence: PersistenceReport | null;
  /** create+enqueue, claim+start, finish+settle and extend+heartbeat as one script each. */
  readonly flow: RedisTaskFlow;
}

/** A complete Baton backend on Redis. `redisOrUrl`: an ioredis `Redis` / `Cluster` (v5 or v6), or a redis:// URL. */
export function redisBackend(redisOrUrl: RedisClient | string, options: RedisBackendOptions = {}): RedisBackend {
  if (options === null || typeof options !== 'object') throw new ConfigError('redisBackend options must be an object { prefix?, name?, eventsMaxLen?, checkPersistence? }.');
  const keys = makeKeys(validateName('redisBackend prefix', options.prefix ?? 'baton'));
  const eventsMaxLen = intOption('redisBackend eventsMaxLen', options.eventsMaxLen, 1_000_000, 1);
  const persistenceCheck = boolOption('redisBackend checkPersistence', options.checkPersistence, true);
  const name = options.name ?? 'redis';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`redisBackend name must be a non-empty string; got ${typeof name}.`);
  const { client, owned, target } = connect(redisOrUrl);
  const conn = new RedisConnection({ client, owned, target, keys, eventsMaxLen });
  const queue = new RedisQueue(conn, keys);
  const tasks = new RedisTaskStore(conn);
  let persistence: PersistenceReport | null = null;
  let checked: Promise<void> | null = null;
  const capabilities: BackendCapabilities = Object.freeze({
    // As durable as the Redis it runs on: see the persistence warning logged by ready().
    durable: true,
    multiProcess: true,
    transactionalEnqueue: false,
    pushWake: true,
    // Tasks, checkpoints and events share one Redis slot: every script appends its events itself.
    atomicEvents: true,
  });
  return {
    name,
    prefix: keys.P,
    capabilities,
    queue,
    tasks,
    checkpoints: new RedisCheckpointStore(conn, keys),
    timers: new RedisTimerStore(conn),
    heartbeats: new RedisHeartbeatStore(conn, keys),
    events: new RedisEventLog(conn, keys),
    coordination: new RedisCoordinationStore(conn),
    flow: new RedisTaskFlow(conn, queue, tasks),
    get persistence() {
      return persistence;
    },
    async ready(context: ReadyContext) {
      conn.logger = context.logger.child({ backend: 'redis', prefix: keys.P });
      await conn.init();
      if (persistenceCheck) {
        checked ??= checkPersistence(client, target, conn.logger).then((report) => {
          persistence = report;
        });
        await checked;
      }
    },
    async close() {
      await conn.close();
    },
  };
}

function connect(redisOrUrl: RedisClient | string): { client: RedisClient; owned: boolean; target: string } {
  if (typeof redisOrUrl === 'string') {
    if (!/^rediss?:\/\//.test(redisOrUrl)) {
      throw new ConfigError(`redisBackend needs an ioredis client or a redis:// / rediss:// URL; got ${JSON.stringify(redactUrl(redisOrUrl))}.`);
    }
    return { client: createClient(redisOrUrl), owned: true, target: redactUrl(redisOrUrl) };
  }
  if (redisOrUrl === null || typeof redisOrUrl !== 'object' || typeof redisOrUrl.call !== 'function' || typeof redisOrUrl.duplicate !== 'function') {
    throw new ConfigError('redisBackend needs an ioredis Redis / Cluster instance (ioredis 5 or 6) or a redis:// URL as its first argument.');
  }
  const keyPrefix = (redisOrUrl as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
  if (typeof keyPrefix === 'string' && keyPrefix !== '') {
    throw new ConfigError(
      `The ioredis client has keyPrefix ${JSON.stringify(keyPrefix)}; Baton's scripts build keys themselves and cannot honour it. Pass a client without keyPrefix and use redisBackend(client, { prefix }).`,
    );
  }
  return { client: redisOrUrl, owned: false, target: describeClient(redisOrUrl) };
}
