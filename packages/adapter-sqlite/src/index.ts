// @baton/sqlite public API.
export { sqliteBackend } from './sqlite-backend.js';
export type { SqliteBackend, SqliteBackendOptions, SqliteSource } from './sqlite-backend.js';
export type { SqliteDatabase, SqliteStatement, SqliteRunResult, SqliteTransaction } from './sqlite-driver.js';
export { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.js';
export type { Migration } from './sqlite-migrations.js';
