// Adapter-level bad input: table prefixes and options are checked at construction (ConfigError,
// before anything reaches SQL), and a transaction that is not a connection is a ValidationError.
// Transactional enqueue: the task exists iff the application's transaction commits.
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ValidationError, createBaton, silentLogger } from '@baton/core';
import { mysqlBackend } from '@baton/mysql';
import { MYSQL_URL, dropPrefix, newPool, randomPrefix, reachable, skipReason } from './helpers.js';

describe('mysqlBackend arguments', () => {
  const BAD_PREFIXES: unknown[] = ['', 'Baton_', 'bat-on', 'x`; DROP TABLE t; --', "b'", '9lives', 'a'.repeat(49), 'tâches', ' baton', 42, {}];

  it.each(BAD_PREFIXES.map((p) => [JSON.stringify(p), p]))('refuses the prefix %s with a ConfigError naming the field', (_label, prefix) => {
    expect(() => mysqlBackend(MYSQL_URL, { prefix: prefix as string })).toThrow(ConfigError);
    expect(() => mysqlBackend(MYSQL_URL, { prefix: prefix as string })).toThrow(/prefix/);
  });

  it('accepts the longest valid prefix and underscores', () => {
    for (const prefix of ['_', 'a', 'baton_', `${'a'.repeat(47)}_`]) expect(mysqlBackend(MYSQL_URL, { prefix }).prefix).toBe(prefix);
  });

  it('refuses bad options, URIs and pools with ConfigError', () => {
    const bad: [unknown, unknown][] = [
      [MYSQL_URL, { poolSize: 0 }],
      [MYSQL_URL, { poolSize: 2.5 }],
      [MYSQL_URL, { migrate: 'yes' }],
      [MYSQL_URL, { name: '' }],
      [MYSQL_URL, { schema: 'baton' }],
      [MYSQL_URL, 'prefix'],
      ['', {}],
      ['not a url', {}],
      ['postgres://root@127.0.0.1:5432/test', {}],
      [{}, {}],
      [null, {}],
      [42, {}],
    ];
    for (const [target, options] of bad) {
      expect(() => mysqlBackend(target as string, options as object), JSON.stringify([target, options])).toThrow(ConfigError);
    }
  });

  it('never puts a password into an error message', () => {
    expect(() => mysqlBackend('http://root:s3cret@127.0.0.1/test')).toThrow(ConfigError);
    try {
      mysqlBackend('mysql//root:s3cret@127.0.0.1/test');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('s3cret');
    }
  });
});

describe.skipIf(!reachable)(`transactional enqueue ${skipReason}`, () => {
  const prefix = randomPrefix('tx');
  const pool = newPool(3);
  afterAll(async () => {
    await pool.end();
    await dropPrefix(prefix);
  });

  it('a task enqueued in the application’s transaction exists iff it commits; a non-connection is refused', async () => {
    const backend = mysqlBackend(pool, { prefix });
    const baton = createBaton({ backend, logger: silentLogger });
    await backend.ready({ logger: silentLogger });
    const conn = await pool.getConnection();
    try {
      await conn.query('START TRANSACTION');
      const rolled = await baton.enqueue('t', { n: 1 }, { transaction: conn });
      await conn.query('ROLLBACK');
      expect(await backend.tasks.get(rolled.taskId)).toBeNull();
      expect((await backend.queue.depth()).ready).toBe(0);

      await conn.query('START TRANSACTION');
      const kept = await baton.enqueue('t', { n: 2 }, { transaction: conn });
      // Not visible to others before the commit.
      expect(await backend.tasks.get(kept.taskId)).toBeNull();
      await conn.query('COMMIT');
      expect(await backend.tasks.get(kept.taskId)).toMatchObject({ state: 'pending', input: { n: 2 } });
      expect((await backend.queue.depth()).ready).toBe(1);
      expect((await backend.events.query({ taskId: kept.taskId, limit: 10 })).map((e) => e.type)).toEqual(['task.enqueued']);
      expect(await backend.events.query({ taskId: rolled.taskId, limit: 10 })).toEqual([]);
    } finally {
      conn.release();
    }
    await expect(baton.enqueue('t', { n: 3 }, { transaction: 'not a connection' })).rejects.toBeInstanceOf(ValidationError);
    await baton.close();
  });
});
