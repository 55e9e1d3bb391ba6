// Migrations: the embedded SQL is what migrations/mysql holds; many processes starting at once
// apply each migration once; a newer schema, a missing one (migrate: false) and foreign tables
// are refused with SchemaError; every statement is re-runnable (MySQL commits DDL implicitly).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaError, silentLogger } from '@baton/core';
import { MIGRATIONS, SCHEMA_VERSION, mysqlBackend } from '@baton/mysql';
import { statements } from '../src/mysql-migrations.js';
import { MYSQL_URL, adminPool, dropPrefix, randomPrefix, reachable, skipReason } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const ctx = { logger: silentLogger };

describe('embedded migrations', () => {
  it('src/migrations.generated.ts is up to date with migrations/mysql/*.sql', () => {
    expect(() => execFileSync(process.execPath, ['../../scripts/embed-files.mjs', '../../migrations/mysql', 'sql', 'src/migrations.generated.ts', '--check'], { cwd: pkg, stdio: 'pipe' })).not.toThrow();
  });

  it('numbers the migrations from 1 without gaps and exports the newest as SCHEMA_VERSION', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    for (const m of MIGRATIONS) expect(m.sql).toContain('`:P:');
  });

  it('splits a migration into statements with the prefix in place and no comments', () => {
    const parts = statements(MIGRATIONS[0]!, 'pfx_');
    expect(parts.length).toBeGreaterThan(5);
    for (const s of parts) {
      expect(s).not.toContain(':P:');
      expect(s).not.toMatch(/^--/m);
      expect(s).toMatch(/^CREATE TABLE IF NOT EXISTS `pfx_/);
    }
  });
});

describe.skipIf(!reachable)(`migrations on the server ${skipReason}`, () => {
  const prefixes: string[] = [];
  const fresh = () => {
    const p = randomPrefix('mig');
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(p);
    await adminPool().end();
  });

  it('six backends starting at once on one prefix apply each migration exactly once', async () => {
    const prefix = fresh();
    const backends = Array.from({ length: 6 }, () => mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 }));
    try {
      await Promise.all(backends.map((b) => b.ready(ctx)));
      const [rows] = await adminPool().query(`SELECT version, COUNT(*) AS n FROM \`${prefix}migrations\` GROUP BY version ORDER BY version`);
      expect((rows as { version: number; n: number }[]).map((r) => [Number(r.version), Number(r.n)])).toEqual(MIGRATIONS.map((m) => [m.version, 1]));
    } finally {
      await Promise.all(backends.map((b) => b.close()));
    }
  });

  it('every statement can run again on a migrated prefix (a migration cut short is completed on the next start)', async () => {
    const prefix = fresh();
    const b = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await b.ready(ctx);
    await b.close();
    for (const m of MIGRATIONS) for (const s of statements(m, prefix)) await adminPool().query(s);
    const again = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await again.ready(ctx);
    await again.close();
  });

  it('refuses a schema newer than the code, naming both versions', async () => {
    const prefix = fresh();
    const b = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await b.ready(ctx);
    await b.close();
    await adminPool().query(`INSERT INTO \`${prefix}migrations\` (version, name, applied_at) VALUES (?, 'from-the-future.sql', 0)`, [SCHEMA_VERSION + 1]);
    for (const migrate of [true, false]) {
      const newer = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2, migrate });
      await expect(newer.ready(ctx)).rejects.toBeInstanceOf(SchemaError);
      await expect(newer.ready(ctx)).rejects.toThrow(new RegExp(`version ${SCHEMA_VERSION + 1}.*knows ${SCHEMA_VERSION}`));
      await newer.close();
    }
  });

  it('migrate: false checks only: refuses an unmigrated prefix, accepts a current one', async () => {
    const prefix = fresh();
    const check = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2, migrate: false });
    await expect(check.ready(ctx)).rejects.toBeInstanceOf(SchemaError);
    const [none] = await adminPool().query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix}%`]);
    expect(Number((none as { n: number }[])[0]!.n)).toBe(0);
    const migrator = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await migrator.ready(ctx);
    await migrator.close();
    await check.ready(ctx);
    expect(await check.tasks.counts('queue')).toEqual([]);
    await check.close();
  });

  it('refuses a prefix whose tables are not Baton’s', async () => {
    const prefix = fresh();
    await adminPool().query(`CREATE TABLE \`${prefix}tasks\` (id INT PRIMARY KEY)`);
    const b = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await expect(b.ready(ctx)).rejects.toThrow(/not Baton/);
    await b.close();
  });
});
