// Crash and resume across real worker processes sharing one set of tables (one prefix).
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { runProcessSuite } from '@baton/conformance';
import { makeBackend } from './process-backend.js';
import { dropPrefix, randomPrefix, reachable, skipReason } from './helpers.js';

describe.skipIf(!reachable)(`@baton/mysql processes ${skipReason}`, () => {
  runProcessSuite({
    name: 'mysql',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: () => randomPrefix('mp'),
    create: makeBackend,
    destroy: dropPrefix,
  });
});
