// @baton/postgres public API: the backend factory and the migration tools for deploy pipelines.
export { postgresBackend } from './postgres-backend.js';
export type { PostgresBackend, PostgresBackendOptions } from './postgres-backend.js';
export { migrate, migrationSql, MIGRATIONS, SCHEMA_VERSION } from './postgres-migrations.js';
export type { Migration, MigrateOptions, MigrateResult } from './postgres-migrations.js';
export type { PgPool, PgPoolClient, PgQueryable, PgQueryConfig, PgResult, PgRow, PgNotification, PgNotice } from './pg-types.js';
