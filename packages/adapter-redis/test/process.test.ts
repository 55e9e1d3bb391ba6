// Crash and resume across real worker processes on one Redis prefix.
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { runProcessSuite } from '@baton/conformance';
import { makeBackend } from './process-backend.js';
import { deletePrefix, randomPrefix, redisUp, skipReason } from './helpers.js';

describe.skipIf(!redisUp)(`@baton/redis processes ${skipReason}`, () => {
  runProcessSuite({
    name: 'redis',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: () => randomPrefix('mp'),
    create: makeBackend,
    destroy: deletePrefix,
  });
});
