// Model-based tests (fast-check) against SQLite: a fresh file per generated sequence. SQLite's
// clock is the host's, so "clock advance" is a short real sleep past a short lease.
import { runModelSuite } from '@baton/conformance';
import { sqliteBackend, type SqliteBackend } from '../src/index.js';
import { tempDir } from './helpers.js';

const dirs = new Map<string, () => void>();

runModelSuite<SqliteBackend>({
  name: 'sqlite',
  create: async () => {
    const tmp = tempDir();
    const backend = sqliteBackend({ file: tmp.file() });
    dirs.set(backend.file, tmp.remove);
    return backend;
  },
  destroy: async (backend) => {
    dirs.get(backend.file)?.();
    dirs.delete(backend.file);
  },
});
