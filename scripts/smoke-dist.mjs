#!/usr/bin/env node
// Loads every built package the way a user's app would (ESM import and CommonJS require,
// through node_modules) and checks its main export is there: catches a broken tsup build,
// a missing file in "exports", or an ESM/CJS mismatch that source-level tests cannot see.
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
if (failed) process.exit(1);
process.stdout.write(`dist smoke: ${Object.keys(expected).length} packages load via import and require\n`);
