// The contract suite against the real PostgreSQL: every backend its own random schema, dropped in destroy.
import { describe } from 'vitest';
import { runConformanceSuite } from '@baton/conformance';
import { postgresBackend, type PostgresBackend } from '@baton/postgres';
import { DATABASE_URL, dropSchema, randomSchema, reachable, skipReason } from './helpers.js';

describe.skipIf(!reachable)(`@baton/postgres conformance ${skipReason}`, () => {
  runConformanceSuite({
    name: 'postgres',
    create: async () => postgresBackend(DATABASE_URL, { schema: randomSchema('conf'), poolSize: 4 }),
    destroy: (b) => dropSchema((b as PostgresBackend).schema),
  });
});
