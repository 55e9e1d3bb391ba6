export { mysqlBackend } from './mysql-backend.js';
export type { MysqlBackend, MysqlBackendOptions } from './mysql-backend.js';
export { MIGRATIONS, SCHEMA_VERSION } from './mysql-migrations.js';
export type { Migration } from './mysql-migrations.js';
