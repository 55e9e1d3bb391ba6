// A CommonJS app: require() of every dual package (ESM-only @baton/conformance excluded), and a
// task on SQLite run to completion.
const assert = require('node:assert/strict');
const { createBaton, silentLogger, PermanentError } = require('@baton/core');
const { sqliteBackend } = require('@baton/sqlite');

for (const [name, symbol] of Object.entries({
  '@baton/core/adapter': 'transitions',
  '@baton/memory': 'FakeClock',
  '@baton/redis': 'redisBackend',
  '@baton/postgres': 'postgresBackend',
  '@baton/nats': 'natsBackend',
  '@baton/mysql': 'mysqlBackend',
  '@baton/cli': 'parseBackendUrl',
  '@baton/dashboard': 'createDashboard',
  '@baton/metrics': 'METRICS',
  '@baton/otel': 'otelInstrumentation',
  '@baton/prometheus': 'metricsHandler',
})) {
  assert.ok(require(name)[symbol] !== undefined, `${name} exports ${symbol}`);
}

async function main() {
  const baton = createBaton({ backend: sqliteBackend({ file: process.argv[2] || './cjs.db' }), logger: silentLogger, worker: { pollIntervalMs: 50 } });
  baton.register('upper', async (input) => input.text.toUpperCase());
  baton.register('refuse', async () => {
    throw new PermanentError('never');
  });
  await baton.start();
  const ok = await baton.enqueue('upper', { text: 'baton' });
  const bad = await baton.enqueue('refuse', {});
  const [a, b] = await Promise.all([baton.waitFor(ok.taskId, { timeoutMs: 30_000 }), baton.waitFor(bad.taskId, { timeoutMs: 30_000 })]);
  await baton.close();
  assert.equal(a.result, 'BATON');
  assert.deepEqual([b.state, b.error && b.error.code], ['dead', 'PERMANENT']);
  process.stdout.write('commonjs: a task completed, a PermanentError went dead at once\n');
}
main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
