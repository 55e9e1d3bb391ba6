// Crash and resume across real worker processes on one NATS prefix.
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { runProcessSuite } from '@baton/conformance';
import { destroyNatsResources } from '../src/index.js';
import { makeBackend, NATS_URL } from './process-backend.js';
import { natsUp, randomPrefix, skipReason } from './helpers.js';

describe.skipIf(!natsUp)(`@baton/nats processes ${skipReason}`, () => {
  runProcessSuite({
    name: 'nats',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: () => randomPrefix('mp'),
    create: makeBackend,
    destroy: async (prefix) => {
      await destroyNatsResources(NATS_URL, prefix);
    },
  });
});
