#!/usr/bin/env node
// Loads every built package the way a user's app would (ESM import and CommonJS require,
// through node_modules) and checks its main export is there: catches a broken tsup build,
// a missing file in "exports", or an ESM/CJS mismatch that source-level tests cannot see.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  '@baton/mysql': 'mysqlBackend',
  '@baton/dashboard': 'createDashboard',
  '@baton/metrics': 'metricsTable',
  '@baton/otel': 'otelInstrumentation',
  '@baton/prometheus': 'prometheusMetrics',
  '@baton/cli': 'main',
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
// The dashboard serves the UI Vite built into its dist/ui, found from the ESM and the CJS entry alike.
for (const [how, load] of [
  ['import', () => import('@baton/dashboard')],
  ['require', async () => require('@baton/dashboard')],
]) {
  try {
    const { createDashboard } = await load();
    const stub = { admin: { listTasks: () => Promise.resolve({ tasks: [], cursor: null }) }, backend: { name: 'stub' } };
    const res = await createDashboard({ baton: stub }).fetch(new Request('http://localhost/'));
    const html = await res.text();
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    if (res.status !== 200 || !asset) throw new Error(`the page answered ${res.status} without its script`);
    const js = await createDashboard({ baton: stub }).fetch(new Request(`http://localhost/${asset}`));
    if (js.status !== 200) throw new Error(`${asset} answered ${js.status}`);
  } catch (err) {
    failed++;
    process.stderr.write(`@baton/dashboard (${how}) UI: ${err?.message ?? err}\n`);
  }
}
// The public API carries no `any`: look for the keyword with TypeScript's scanner (comments and
// strings are not tokens of it; a member named `any` is skipped) in every emitted declaration
// (one per module: scripts/build-dts.mjs).
const ts = require('typescript');
const anyLines = (text) => {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const lines = new Set();
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind !== ts.SyntaxKind.AnyKeyword) continue;
    const next = scanner.lookAhead(() => [scanner.scan(), scanner.scan()]);
    const member = next[0] === ts.SyntaxKind.ColonToken || next[0] === ts.SyntaxKind.OpenParenToken || (next[0] === ts.SyntaxKind.QuestionToken && next[1] === ts.SyntaxKind.ColonToken);
    if (!member) lines.add(text.slice(text.lastIndexOf('\n', scanner.getTokenStart()) + 1, text.indexOf('\n', scanner.getTokenStart())).trim());
  }
  return [...lines];
};
for (const name of Object.keys(expected)) {
  const dist = dirname(require.resolve(name));
  for (const file of readdirSync(dist, { recursive: true }).map(String).filter((f) => f.endsWith('.d.ts'))) {
    const hits = anyLines(readFileSync(join(dist, file), 'utf8'));
    if (hits.length > 0) {
      failed++;
      process.stderr.write(`${name}: \`any\` in the public types (${file}):\n  ${hits.slice(0, 5).join('\n  ')}\n`);
    }
  }
}
if (failed) process.exit(1);
process.stdout.write(`dist smoke: ${Object.keys(expected).length} packages load via import and require; no any in their types\n`);
