// Model-based tests (fast-check) against the real PostgreSQL: a fresh schema per generated
// sequence; "clock advance" is a short real sleep past a short lease (the server's clock).
import { describe } from 'vitest';
import { runModelSuite } from '@baton/conformance';
import { postgresBackend, type PostgresBackend } from '@baton/postgres';
import { DATABASE_URL, dropSchema, randomSchema, reachable, skipReason } from './helpers.js';

describe.skipIf(!reachable)(`@baton/postgres model ${skipReason}`, () => {
  runModelSuite<PostgresBackend>({
    name: 'postgres',
    create: async () => postgresBackend(DATABASE_URL, { schema: randomSchema('model'), poolSize: 4 }),
    destroy: (b) => dropSchema(b.schema),
  });
});
