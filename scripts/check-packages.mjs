#!/usr/bin/env node
// Checks every publishable package as npm would publish it (run after the build):
//  1. `npm pack` of every package in one call (prepack copies the root LICENSE in);
//  2. publint on each tarball, strict (warnings fail) and at suggestion level;
//  3. @arethetypeswrong on each tarball: under node10, node16 from CJS and from ESM and bundler
//     resolution, every entry point's types resolve and match the JavaScript's module format
//     (ESM-only packages — "exports" without a "require" condition — skip the CJS resolutions);
//  4. the tarball holds LICENSE, README.md, CHANGELOG.md, and a declaration map beside every
//     declaration whose sources are in the tarball too;
//  5. no two packages declare a command of the same name (npm would silently link one of them).
// The tarballs stay in .tmp/packs (scripts/blank-app.mjs installs them). `--only=@baton/core,…`
// checks some packages.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';

const root = fileURLToPath(new URL('..', import.meta.url));
export const PACKS = join(root, '.tmp', 'packs');

// Commands two packages declare today, printed as a warning on every run instead of failing it.
// Each must be resolved before publishing; nothing may be added here without saying how.
const KNOWN_BIN_CONFLICTS = new Map([]);

/**
 * The environment of a shell rather than of the `npm test` that may have called us: npm_config_*
 * of a root run (a workspace filter, --global…) must not apply to the npm commands run here.
 */
export const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(config|package|lifecycle)_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)),
);

/** Every package under packages/ that is not private: name, directory, manifest. */
export function publishablePackages() {
  return readdirSync(join(root, 'packages'))
    .map((dir) => ({ dir: join(root, 'packages', dir), manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ name: p.manifest.name, ...p }));
}

/** Packs the packages into .tmp/packs (replacing earlier tarballs); returns name → tarball path. */
export function packAll(pkgs) {
  rmSync(PACKS, { recursive: true, force: true });
  mkdirSync(PACKS, { recursive: true });
  const args = ['pack', '--json', '--pack-destination', PACKS, ...pkgs.flatMap((p) => ['-w', p.name])];
  const out = execFileSync('npm', args, { cwd: root, env: cleanEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const packed = JSON.parse(out.slice(out.indexOf('[')));
  return new Map(packed.map((p) => [p.name, join(PACKS, p.filename)]));
}

/** The files of a .tgz: path inside the package (without `package/`) → bytes. */
function untar(tgz) {
  const data = gunzipSync(readFileSync(tgz));
  const files = new Map();
  for (let off = 0; off + 512 <= data.length; ) {
    const header = data.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a, b) => header.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const prefix = str(345, 500);
    const name = (prefix ? `${prefix}/` : '') + str(0, 100);
    if (header[156] === 48 || header[156] === 0) files.set(name.replace(/^package\//, ''), data.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

const problemText = (p) => {
  const where = 'entrypoint' in p ? ` ${p.entrypoint}` : '';
  const how = 'resolutionKind' in p ? ` (${p.resolutionKind})` : '';
  const file = 'fileName' in p ? ` in ${p.fileName}` : 'typesFileName' in p ? ` ${p.typesFileName} vs ${p.implementationFileName}` : '';
  return `${p.kind}${where}${how}${file}`;
};

async function checkOne(pkg, tgz) {
  const errors = [];
  const bytes = readFileSync(tgz);

  // publint: the package.json against the files that are really in the tarball.
  const { messages, pkg: manifest } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion', strict: true });
  for (const m of messages) errors.push(`publint ${m.type}: ${formatMessage(m, manifest, { color: false }) ?? m.code}`);

  // attw: types resolve like the JavaScript, in every resolution mode the package supports.
  const esmOnly = !JSON.stringify(pkg.manifest.exports ?? {}).includes('"require"');
  const ignored = esmOnly ? ['node10', 'node16-cjs'] : [];
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(bytes)));
  if (!analysis.types) errors.push('attw: the package has no types');
  else for (const p of analysis.problems) if (!('resolutionKind' in p) || !ignored.includes(p.resolutionKind)) errors.push(`attw: ${problemText(p)}`);

  // What a user gets: the license, docs, and declaration maps that lead to shipped sources.
  const files = untar(tgz);
  for (const f of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) if (!files.has(f)) errors.push(`${f} is not in the tarball`);
  const license = files.get('LICENSE');
  if (license && !license.equals(readFileSync(join(root, 'LICENSE')))) errors.push('LICENSE differs from the repository LICENSE');
  const declarations = [...files.keys()].filter((f) => /\.d\.c?ts$/.test(f));
  if (declarations.length === 0) errors.push('no declaration files in the tarball');
  for (const d of declarations) {
    const map = files.get(`${d}.map`);
    if (!map) {
      errors.push(`${d} has no declaration map`);
      continue;
    }
    for (const source of JSON.parse(map.toString('utf8')).sources) {
      const target = posix.normalize(posix.join(posix.dirname(d), source));
      if (!files.has(target)) errors.push(`${d}.map points at ${target}, which is not in the tarball`);
    }
  }
  return { errors, files: files.size, kb: Math.round(bytes.length / 1024) };
}

async function main() {
  const started = Date.now();
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const pkgs = publishablePackages().filter((p) => !only || only.includes(p.name));
  const tarballs = packAll(pkgs);
  let failed = 0;
  const bins = new Map();
  for (const pkg of publishablePackages()) {
    const names = typeof pkg.manifest.bin === 'string' ? [pkg.name.split('/').pop()] : Object.keys(pkg.manifest.bin ?? {});
    for (const bin of names) bins.set(bin, [...(bins.get(bin) ?? []), pkg.name]);
  }
  for (const [bin, owners] of bins) {
    if (owners.length < 2) continue;
    const known = KNOWN_BIN_CONFLICTS.get(bin) === owners.join(' and ');
    if (!known) failed++;
    process.stderr.write(`${known ? 'warning (known, to resolve before publishing)' : 'error'}: the command "${bin}" is declared by ${owners.join(' and ')}: installed together, npm links only one\n`);
  }
  for (const pkg of pkgs) {
    const tgz = tarballs.get(pkg.name);
    if (!tgz) {
      failed++;
      process.stderr.write(`${pkg.name}: npm pack produced no tarball\n`);
      continue;
    }
    const { errors, files, kb } = await checkOne(pkg, tgz);
    if (errors.length > 0) {
      failed++;
      process.stderr.write(`${pkg.name}:\n  ${errors.join('\n  ')}\n`);
    } else process.stdout.write(`  ${pkg.name}: ${files} files, ${kb} KB — publint, attw, LICENSE, declaration maps ok\n`);
  }
  if (failed > 0) {
    process.stderr.write(`check-packages: ${failed} problem(s) in ${pkgs.length} packages (above)\n`);
    process.exit(1);
  }
  process.stdout.write(`check-packages: ${pkgs.length} packages clean (${((Date.now() - started) / 1000).toFixed(1)} s); tarballs in ${posix.relative(root, PACKS) || PACKS}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
