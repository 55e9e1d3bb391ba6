// @baton/sqlite public API.
export { sqliteBackend } from './sqlite-backend.js';
export type { SqliteBackend, SqliteBackendOptions, SqliteSource } from './sqlite-backend.js';
export type { SqliteDatabase, SqliteStatement, SqliteRunResult, SqliteTransaction } from './sqlite-driver.js';
export { sqliteMigrations, SQLITE_SCHEMA_VERSION } from './migrations.js';
export type { SqliteMigration } from './migrations.js';
