// Loaded by the process suite's worker processes: the SQLite backend of a test namespace (a file).
import { sqliteBackend } from '../src/index.js';

export const makeBackend = (file: string) => sqliteBackend({ file });
