// Loaded by the process suite's worker processes: the MySQL backend of a test namespace (table prefix).
import { mysqlBackend } from '../src/index.js';

export const makeBackend = (prefix: string) => mysqlBackend(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', { prefix, poolSize: 4 });
