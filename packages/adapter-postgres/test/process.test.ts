// Crash and resume across real worker processes on one Postgres schema.
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { runProcessSuite } from '@baton/conformance';
import { makeBackend } from './process-backend.js';
import { dropSchema, randomSchema, reachable, skipReason } from './helpers.js';

describe.skipIf(!reachable)(`@baton/postgres processes ${skipReason}`, () => {
  runProcessSuite({
    name: 'postgres',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: () => randomSchema('mp'),
    create: makeBackend,
    destroy: dropSchema,
  });
});
