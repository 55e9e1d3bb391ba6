// Model-based tests (fast-check) against the real MariaDB: a fresh table prefix per generated
// sequence; "clock advance" is a short real sleep past a short lease (the server's clock).
import { afterAll, describe } from 'vitest';
import { runModelSuite } from '@baton/conformance';
import { mysqlBackend, type MysqlBackend } from '@baton/mysql';
import { MYSQL_URL, adminPool, dropPrefix, randomPrefix, reachable, skipReason } from './helpers.js';

describe.skipIf(!reachable)(`@baton/mysql model ${skipReason}`, () => {
  afterAll(async () => {
    await adminPool().end();
  });
  runModelSuite<MysqlBackend>({
    name: 'mysql',
    create: async () => mysqlBackend(MYSQL_URL, { prefix: randomPrefix('model'), poolSize: 4 }),
    destroy: (b) => dropPrefix(b.prefix),
  });
});
