#!/usr/bin/env node
// The packages the way a user gets them: every publishable package's tarball (`npm pack`, or
// with --reuse-packs those scripts/check-packages.mjs left in .tmp/packs) installed with npm into
// a blank app outside the repository, beside the drivers, then the app in scripts/blank-app/ runs
// against SQLite:
//  - esm.mjs    an ES module: every package's ESM entry, a task run to completion;
//  - cjs.cjs    CommonJS: require() of every dual package, a completed and a dead task;
//  - app.ts     strict TypeScript (tsc --strict, NodeNext): defineTask with an interface input,
//               typed enqueue/waitFor/ctx.checkpoint and lines the compiler must refuse, then run:
//               a retry resumes from its checkpoint;
//  - types.ts / types.cts  every package's ESM and CommonJS declarations, skipLibCheck off;
//  - readme.ts  the README's main snippet, as written, with declarations of the functions it
//               leaves to the reader;
//  - the `baton` bin of @baton/cli reading the ESM app's task back.
// Drivers are the versions the repository installs (npm's cache has them after `npm ci`), and
// install scripts are skipped: better-sqlite3's native binding is copied from the repository's
// build of the same version (compiling it would take minutes). `--keep` leaves the app for a look.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKS, cleanEnv as env, packAll, publishablePackages } from './check-packages.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const appSources = join(root, 'scripts', 'blank-app');
const started = Date.now();
const step = (what) => process.stdout.write(`  ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

// npm, node and tsc run with the environment of a shell (`cleanEnv`), not of the `npm test` that called us.
const run = (cmd, args, cwd) => {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`${[cmd, ...args].join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
};
const version = (dep) => JSON.parse(readFileSync(join(root, 'node_modules', dep, 'package.json'), 'utf8')).version;

// 1. The tarballs: packed now, or with --reuse-packs the ones check-packages just made (npm test).
const pkgs = publishablePackages();
let tarballs = new Map(pkgs.map((p) => [p.name, join(PACKS, `${p.name.replace('@', '').replace('/', '-')}-${p.manifest.version}.tgz`)]));
if (!process.argv.includes('--reuse-packs') || [...tarballs.values()].some((t) => !existsSync(t))) {
  tarballs = packAll(pkgs);
  step('packed');
}

// 2. A blank app outside the repository (no workspace, no node_modules above it).
const app = mkdtempSync(join(tmpdir(), 'baton-blank-app-'));
const keep = process.argv.includes('--keep');
try {
  cpSync(appSources, app, { recursive: true });
  const drivers = ['better-sqlite3', 'ioredis', 'pg', 'mysql2', '@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv', '@opentelemetry/api', 'prom-client', 'vitest', '@types/node'];
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'baton-blank-app',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries([...tarballs].map(([name, tgz]) => [name, `file:${tgz}`])),
          ...Object.fromEntries(drivers.map((d) => [d, version(d)])),
        },
      },
      null,
      2,
    ),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'], app);
  cpSync(join(root, 'node_modules', 'better-sqlite3', 'build'), join(app, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
  step(`installed ${tarballs.size} packages and their drivers in ${app}`);

  // 3. The README's main snippet, as written: the first ts block under "## The API in …".
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.search(/^## The API in/m));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!section.startsWith('## The API in') || !snippet) throw new Error('README.md: no ```ts block under "## The API in …"');
  const snippetLine = readme.slice(0, readme.indexOf(snippet)).split('\n').length;
  writeFileSync(
    join(app, 'readme.ts'),
    `${snippet}
// What the README leaves to the reader ("your code"), declared at the end so that line N here is
// line ${snippetLine} + N - 1 of README.md.
declare function fetchText(url: string, signal: AbortSignal): Promise<string>;
declare function write(topic: string): Promise<string>;
declare function polish(draft: string): string;
`,
  );

  // 4. Strict TypeScript: the app, both declaration flavours, the README snippet.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const out = String(err.stdout ?? '').replace(/^readme\.ts\((\d+),(\d+)\)/gm, (_, line, col) => `README.md(${snippetLine + Number(line) - 1},${col})`);
    throw new Error(`tsc --strict failed in the blank app:\n${out}${err.stderr ?? ''}`);
  }
  step('tsc --strict: app.ts, types.ts, types.cts, the README snippet');

  // 5. Run them against SQLite.
  const esmTask = run(process.execPath, ['esm.mjs', join(app, 'esm.db')], app).trim();
  step(`esm.mjs: task ${esmTask} completed`);
  process.stdout.write(`  ${run(process.execPath, ['cjs.cjs', join(app, 'cjs.db')], app).trim()}\n`);
  process.stdout.write(`  ${run(process.execPath, [join('dist', 'app.js'), join(app, 'app.db')], app).trim()}\n`);

  // 6. The CLI, installed as a user installs it, reads the ESM app's task back.
  const shown = JSON.parse(run(join(app, 'node_modules', '.bin', 'baton'), ['--backend', `sqlite:${join(app, 'esm.db')}`, 'show', esmTask, '--json'], app));
  const state = shown.task?.state ?? shown.state;
  if (state !== 'completed') throw new Error(`baton show ${esmTask}: state ${state}, expected completed`);
  const bins = readdirSync(join(app, 'node_modules', '.bin'));
  for (const bin of ['baton']) if (!bins.includes(bin)) throw new Error(`node_modules/.bin/${bin} is missing`);
  step('baton show (the @baton/cli bin): completed');
  process.stdout.write(`blank app: ${tarballs.size} packages installed and used from ESM, CommonJS and strict TypeScript in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
} catch (err) {
  process.stderr.write(`blank app (${app}): ${err.message}\n`);
  process.exitCode = 1;
} finally {
  if (!keep && process.exitCode !== 1) rmSync(app, { recursive: true, force: true });
  else process.stdout.write(`  the app is left in ${app}\n`);
}
