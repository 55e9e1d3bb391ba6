#!/usr/bin/env node
// Loads every built package the way a user's app would (ESM import and CommonJS require,
// through node_modules) and checks its main export is there: catches a broken tsup build,
// a missing file in "exports", or an ESM/CJS mismatch that source-level tests cannot see.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const expected = {
  '@baton/core': 'createBaton',
  '@baton/memory': 'memoryBackend',
  '@baton/conformance': 'runConformanceSuite',
  '@baton/sqlite': 'sqliteBackend',
  '@baton/redis': 'redisBackend',
  '@baton/postgres': 'postgresBackend',
  '@baton/nats': 'natsBackend',
};
let failed = 0;
for (const [name, symbol] of Object.entries(expected)) {
  for (const [how, load] of [
    ['import', () => import(name)],
    ['require', async () => require(name)],
  ]) {
    try {
      const mod = await load();
      if (typeof mod[symbol] !== 'function') throw new Error(`export ${symbol} missing`);
    } catch (err) {
      // The conformance suite imports vitest, which only loads inside a vitest run.
      if (name === '@baton/conformance' && /vitest/i.test(String(err?.message))) continue;
      failed++;
      process.stderr.write(`${name} (${how}): ${err?.message ?? err}\n`);
    }
  }
}
// The public API carries no `any`: look for it in the emitted declarations, comments stripped.
for (const name of Object.keys(expected)) {
  const dts = readFileSync(require.resolve(name).replace(/index\.cjs$/, 'index.d.ts'), 'utf8');
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const hits = code.split('\n').filter((line) => /\bany\b/.test(line));
  if (hits.length > 0) {
    failed++;
    process.stderr.write(`${name}: \`any\` in the public types:\n  ${hits.slice(0, 5).join('\n  ')}\n`);
  }
}
if (failed) process.exit(1);
process.stdout.write(`dist smoke: ${Object.keys(expected).length} packages load via import and require; no any in their types\n`);
