// The shared contract suite against the real Redis, each test on its own random key prefix.
import { runConformanceSuite } from '@baton/conformance';
import { describe } from 'vitest';
import { redisBackend } from '../src/index.js';
import { deletePrefix, randomPrefix, REDIS_URL, redisUp, skipReason } from './helpers.js';

const prefixes = new WeakMap<object, string>();

describe.skipIf(!redisUp)(`@baton/redis conformance ${skipReason}`, () => {
  runConformanceSuite({
    name: 'redis',
    async create() {
      const prefix = randomPrefix('conf');
      const backend = redisBackend(REDIS_URL, { prefix, checkPersistence: false });
      prefixes.set(backend, prefix);
      return backend;
    },
    async destroy(backend) {
      const prefix = prefixes.get(backend);
      if (prefix !== undefined) await deletePrefix(prefix);
    },
  });
});
