// The shared contract suite against a fresh SQLite file per test.
import { rmSync } from 'node:fs';
import { runConformanceSuite } from '@baton/conformance';
import { sqliteBackend, type SqliteBackend } from '@baton/sqlite';
import { tempDir } from './helpers.js';

const dirs = new Map<string, () => void>();

runConformanceSuite({
  name: 'sqlite',
  create: async () => {
    const tmp = tempDir();
    const backend = sqliteBackend({ file: tmp.file() });
    dirs.set(backend.file, tmp.remove);
    return backend;
  },
  destroy: async (backend) => {
    const file = (backend as SqliteBackend).file;
    const remove = dirs.get(file) ?? (() => rmSync(file, { force: true }));
    dirs.delete(file);
    remove();
  },
});
