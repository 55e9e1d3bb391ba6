// The shared contract suite against the real Redis, each test on its own random key prefix, with
// the corruption hooks writing behind the adapter's back.
import { runConformanceSuite } from '@baton/conformance';
import { describe } from 'vitest';
import { redisBackend } from '../src/index.js';
import { corruptionHooks } from './corruption-hooks.js';
import { deletePrefix, randomPrefix, REDIS_URL, redisUp, skipReason } from './helpers.js';

describe.skipIf(!redisUp)(`@baton/redis conformance ${skipReason}`, () => {
  runConformanceSuite({
    name: 'redis',
    create: async () => redisBackend(REDIS_URL, { prefix: randomPrefix('conf'), checkPersistence: false }),
    destroy: (backend) => deletePrefix(backend.prefix.slice(1, -2)),
    corrupt: corruptionHooks,
  });
});
