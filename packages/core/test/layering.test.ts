// The layering is enforced by lint, not by discipline: a forbidden import fails `npm run lint`.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, from: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${from}';\nexport const y = x;\n`, { filePath: `${root}/${file}` });
  return result!.messages.some((m) => m.ruleId === 'no-restricted-imports');
}

describe('layering rules', () => {
  it('core imports no adapter, no other @baton package and no driver', async () => {
    for (const from of ['@baton/redis', '@baton/conformance', 'pg', 'ioredis', 'better-sqlite3', '@nats-io/jetstream', 'mysql2/promise']) {
      expect(await restricted('packages/core/src/probe.ts', from), from).toBe(true);
    }
    expect(await restricted('packages/core/src/probe.ts', 'node:crypto')).toBe(false);
  });

  it('an adapter imports only @baton/core/adapter of the Baton packages', async () => {
    expect(await restricted('packages/adapter-redis/src/probe.ts', '@baton/core/adapter')).toBe(false);
    expect(await restricted('packages/adapter-redis/src/probe.ts', 'ioredis')).toBe(false);
    for (const from of ['@baton/core', '@baton/sqlite', '@baton/postgres', '@baton/conformance']) {
      expect(await restricted('packages/adapter-redis/src/probe.ts', from), from).toBe(true);
    }
  });

  it('the conformance suite imports no adapter and no driver', async () => {
    expect(await restricted('packages/conformance/src/probe.ts', '@baton/core/adapter')).toBe(false);
    for (const from of ['@baton/memory', '@baton/postgres', 'pg', 'ioredis']) {
      expect(await restricted('packages/conformance/src/probe.ts', from), from).toBe(true);
    }
  });
});
