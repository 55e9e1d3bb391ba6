// The whole contract suite once more with an application-supplied ioredis 6 client (the peer
// range is ^5 || ^6): the adapter must not depend on the client's major.
import { runConformanceSuite } from '@baton/conformance';
import { Redis as Redis6 } from 'ioredis6';
import { describe } from 'vitest';
import { redisBackend, type RedisBackend } from '../src/index.js';
import { corruptionHooks } from './corruption-hooks.js';
import { deletePrefix, randomPrefix, REDIS_URL, redisUp, skipReason } from './helpers.js';

const clients = new WeakMap<RedisBackend, Redis6>();

describe.skipIf(!redisUp)(`@baton/redis conformance on an ioredis 6 client ${skipReason}`, () => {
  runConformanceSuite({
    name: 'redis (ioredis 6)',
    async create() {
      const client = new Redis6(REDIS_URL);
      const backend = redisBackend(client, { prefix: randomPrefix('io6'), checkPersistence: false });
      clients.set(backend, client);
      return backend;
    },
    async destroy(backend) {
      // The backend leaves a client it was given open.
      clients.get(backend)?.disconnect();
      await deletePrefix(backend.prefix.slice(1, -2));
    },
    corrupt: corruptionHooks,
  });
});
