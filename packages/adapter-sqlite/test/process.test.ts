// Crash and resume across real worker processes on one SQLite file.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe } from 'vitest';
import { runProcessSuite } from '@baton/conformance';
import { makeBackend } from './process-backend.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('@baton/sqlite processes', () => {
  runProcessSuite({
    name: 'sqlite',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: () => tmp.file(`mp-${randomUUID()}.db`),
    create: makeBackend,
    destroy: async (file) => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  });
});
