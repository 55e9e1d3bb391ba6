// Model-based tests (fast-check) against SQLite: a fresh file per generated sequence. SQLite's
// clock is the host's, so "clock advance" is a short real sleep past a short lease.
import { runModelSuite } from '@baton/conformance';
import type { SqliteBackend } from '../src/index.js';
import { freshFiles } from './helpers.js';

runModelSuite<SqliteBackend>({ name: 'sqlite', ...freshFiles() });
