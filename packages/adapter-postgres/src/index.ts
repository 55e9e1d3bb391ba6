// @baton/postgres public API.
export { postgresBackend, POSTGRES_CAPABILITIES } from './postgres-backend.js';
export type { PostgresBackend, PostgresBackendOptions } from './postgres-backend.js';
export { migrate, migrationSql, assertSchemaCurrent, schemaVersion, MIGRATIONS, SCHEMA_VERSION, LEDGER_TABLE } from './migrate.js';
export type { Migration, MigrateOptions, MigrateResult } from './migrate.js';
export { schemaNames } from './schema.js';
export type { SchemaNames } from './schema.js';
export type { PgPool, PgPoolClient, PgQueryable, PgQueryConfig, PgResult, PgRow, PgNotification } from './pg-types.js';
