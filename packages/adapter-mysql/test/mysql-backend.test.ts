// MySQL specifics the contract suite does not pin down: names compare byte for byte (no case
// folding, no PAD SPACE), times are the server's, and ready() refuses a session whose sql_mode
// would break parameter escaping.
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID as newId } from 'node:crypto';
import { ConfigError, silentLogger } from '@baton/core';
import { newTask } from '@baton/conformance';
import { mysqlBackend } from '@baton/mysql';
import { MYSQL_URL, adminPool, dropPrefix, newPool, randomPrefix, reachable, skipReason, sleep } from './helpers.js';

const ctx = { logger: silentLogger };

describe.skipIf(!reachable)(`@baton/mysql specifics ${skipReason}`, () => {
  const prefix = randomPrefix('spec');
  const backend = mysqlBackend(MYSQL_URL, { prefix, poolSize: 3 });
  afterAll(async () => {
    await backend.close();
    await dropPrefix(prefix);
    await adminPool().end();
  });

  it('declares the capabilities the README documents', () => {
    expect(backend.capabilities).toEqual({ durable: true, multiProcess: true, transactionalEnqueue: true, pushWake: false, atomicEvents: true });
  });

  it('keys, types and groups that differ only in case or trailing spaces stay apart', async () => {
    await backend.ready(ctx);
    const key = `k-${newId()}`;
    const tasks = [newTask({ idempotencyKey: key, type: 'x' }), newTask({ idempotencyKey: `${key} `, type: 'x ' }), newTask({ idempotencyKey: key.toUpperCase(), type: 'X' })];
    expect((await backend.tasks.create(tasks)).map((r) => r.duplicate)).toEqual([false, false, false]);
    const byType = (await backend.tasks.counts('type')).map((c) => `${c.key}|${c.count}`).sort();
    expect(byType).toEqual(['X|1', 'x |1', 'x|1']);
    expect((await backend.tasks.list({ type: 'x', limit: 10 })).tasks.map((t) => t.id)).toEqual([tasks[0]!.id]);
  });

  it('stamps times with the server clock', async () => {
    const [rows] = await adminPool().query("SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS now");
    const serverNow = Number((rows as { now: unknown }[])[0]!.now);
    const t = newTask();
    await backend.tasks.create([t]);
    const rec = await backend.tasks.get(t.id);
    expect(Math.abs(rec!.createdAt - serverNow)).toBeLessThan(5_000);
  });

  it('ready() refuses a session with NO_BACKSLASH_ESCAPES', async () => {
    const pool = newPool(1);
    try {
      const conn = await pool.getConnection();
      await conn.query("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')");
      conn.release();
      const b = mysqlBackend(pool, { prefix: randomPrefix('nbe') });
      await expect(b.ready(ctx)).rejects.toBeInstanceOf(ConfigError);
      await expect(b.ready(ctx)).rejects.toThrow(/NO_BACKSLASH_ESCAPES/);
      await b.close();
    } finally {
      await pool.end();
    }
  });
  it('an autocommit write the server rolled back for a lock conflict is run again, not failed', async () => {
    // A lock-wait timeout stands in for a deadlock: the server rolls the statement back with an
    // error of the same kind (1205 vs 1213), and the timeout makes the order certain.
    const pool = newPool(2);
    pool.on('connection', (conn) => void conn.query('SET SESSION innodb_lock_wait_timeout = 1'));
    const p = randomPrefix('lock');
    const b = mysqlBackend(pool, { prefix: p });
    const holder = await adminPool().getConnection();
    try {
      await b.ready(ctx);
      const id = newId();
      await b.timers.schedule([{ id, kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'x', payload: null }]);
      await holder.query('START TRANSACTION');
      await holder.query(`SELECT id FROM \`${p}timers\` WHERE id = ? FOR UPDATE`, [id]);
      const completed = b.timers.complete([id]);
      await sleep(1_600);
      await holder.query('COMMIT');
      await expect(completed).resolves.toBeUndefined();
      expect(await b.timers.claimDue(10, 1_000)).toEqual([]);
    } finally {
      holder.release();
      await b.close();
      await pool.end();
      await dropPrefix(p);
    }
  });
});
