// An ES module app, plain JavaScript: a task on SQLite, run to completion, and every package's
// ESM entry loaded from node_modules (the conformance suite only loads inside vitest).
import assert from 'node:assert/strict';
import { createBaton, silentLogger, isBatonError, ValidationError } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';

const entries = {
  '@baton/core/adapter': 'transitions',
  '@baton/memory': 'memoryBackend',
  '@baton/sqlite': 'sqliteBackend',
  '@baton/redis': 'redisBackend',
  '@baton/postgres': 'postgresBackend',
  '@baton/nats': 'natsBackend',
  '@baton/mysql': 'mysqlBackend',
  '@baton/cli': 'main',
  '@baton/dashboard': 'createDashboard',
  '@baton/metrics': 'BatonMetrics',
  '@baton/otel': 'otelInstrumentation',
  '@baton/prometheus': 'prometheusMetrics',
};
for (const [name, symbol] of Object.entries(entries)) {
  const mod = await import(name);
  assert.ok(mod[symbol] !== undefined, `${name} exports ${symbol}`);
}

const baton = createBaton({ backend: sqliteBackend({ file: process.argv[2] ?? './esm.db' }), logger: silentLogger, worker: { pollIntervalMs: 50 } });
baton.register('add', async (input, ctx) => {
  await ctx.saveCheckpoint('half', { a: input.a });
  return input.a + input.b;
});
await baton.start();
const { taskId } = await baton.enqueue('add', { a: 2, b: 3 });
const done = await baton.waitFor(taskId, { timeoutMs: 30_000 });
await assert.rejects(baton.enqueue('', {}), (err) => err instanceof ValidationError && isBatonError(err) && err.code === 'VALIDATION');
await baton.close();
assert.equal(done.state, 'completed');
assert.equal(done.result, 5);
process.stdout.write(`${taskId}\n`);
