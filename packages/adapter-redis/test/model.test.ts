// Model-based tests (fast-check) against the real Redis: a fresh key prefix per generated sequence;
// "clock advance" is a short real sleep past a short lease (Redis TIME is the clock).
import { describe } from 'vitest';
import { runModelSuite } from '@baton/conformance';
import { redisBackend } from '../src/index.js';
import { deletePrefix, randomPrefix, REDIS_URL, redisUp, skipReason } from './helpers.js';

describe.skipIf(!redisUp)(`@baton/redis model ${skipReason}`, () => {
  runModelSuite({
    name: 'redis',
    create: async () => redisBackend(REDIS_URL, { prefix: randomPrefix('model'), checkPersistence: false }),
    destroy: (backend) => deletePrefix(backend.prefix.slice(1, -2)),
  });
});
