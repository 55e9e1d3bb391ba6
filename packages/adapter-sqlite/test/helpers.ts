// Temp files for tests, and raw access to a backend's file behind the SDK's back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteBackend, type SqliteBackend } from '../src/index.js';

export { newTask, queueItem } from '@baton/conformance';

export function tempDir(): { dir: string; file: (name?: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-'));
  return {
    dir,
    file: (name = 'baton.db') => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `create` / `destroy` for the shared suites: each backend on a file of its own temp dir, removed by `destroy`. */
export function freshFiles(): { create: () => Promise<SqliteBackend>; destroy: (backend: SqliteBackend) => Promise<void> } {
  const dirs = new Map<string, () => void>();
  return {
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
  };
}

/** Runs `fn` on a second connection to `file` (another writer, as a foreign tool or a bad migration would be). */
export function behindTheBack<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { timeout: 5_000 });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
