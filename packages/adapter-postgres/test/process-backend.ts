// Loaded by the process suite's worker processes: the Postgres backend of a test namespace (schema).
import { postgresBackend } from '../src/index.js';

export const makeBackend = (schema: string) =>
  postgresBackend(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', { schema, poolSize: 4 });
