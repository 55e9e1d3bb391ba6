#!/usr/bin/env node
// The API reference, built with TypeDoc from the TypeScript sources of every public entry point
// (each package's `exports`, `@baton/core/adapter` included), one module per entry, named as users
// import it. `npm run docs` writes HTML to docs/api/ (gitignored); `npm run docs:check` (part of
// `npm test`) converts and validates without writing anything. Either fails on any warning:
// a symbol the public API uses that no entry point exports (validation.notExported), a broken
// {@link} (invalidLink), a relative link in a comment or document that leads nowhere (invalidPath).
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, Converter, ReflectionKind } from 'typedoc';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const started = Date.now();

// Every public entry point: package.json "exports" of each non-private package, mapped back to
// the source file tsup builds it from (dist/<name>.js ← src/<name>.ts).
const entries = new Map(); // source file → import specifier
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (subpath.endsWith('package.json')) continue;
    const types = JSON.stringify(target).match(/"\.\/dist\/([\w/-]+)\.d\.ts"/)?.[1];
    if (!types) throw new Error(`${pkg.name}: exports["${subpath}"] has no .d.ts types`);
    entries.set(join(root, 'packages', dir, 'src', `${types}.ts`), subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`);
  }
}

// Types that appear in public signatures without being exported by any entry point
// ("<package>/<file>:<name>"). Each is a gap in the exports, tolerated here so that the check
// catches new ones; the fix is to export it from the entry named in its comment, then drop the
// line. Nothing may be added to this list without that note.
const INTENTIONALLY_NOT_EXPORTED = [];

const app = await Application.bootstrapWithPlugins({
  name: 'Baton API reference',
  entryPoints: [...entries.keys()],
  entryPointStrategy: 'resolve',
  tsconfig: join(root, 'scripts', 'tsconfig.docs.json'),
  readme: join(root, 'docs', 'api-index.md'),
  out: join(root, 'docs', 'api'),
  // `npm run typecheck` checks the types; the reference only reads them.
  skipErrorChecking: true,
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  excludeExternals: true,
  disableSources: false,
  gitRevision: 'main',
  sourceLinkTemplate: 'https://github.com/baton-dev/baton/blob/{gitRevision}/{path}#L{line}',
  sort: ['kind', 'instance-first', 'alphabetical-ignoring-documents'],
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
  logLevel: 'Warn',
});

// Modules are named by the import specifier of their entry (TypeDoc would name them by path).
app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
  for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
    const file = module.sources?.[0]?.fullFileName;
    const name = file && entries.get(file);
    if (name) module.name = name;
  }
});

const project = await app.convert();
if (!project) fail('TypeDoc could not convert the entry points');
// Links and paths over the whole project; then the exports check once per package: TypeDoc checks
// only types of the project's own package (here the private root, "baton"), so each package takes
// that place in turn, with its share of INTENTIONALLY_NOT_EXPORTED.
const validation = { notExported: false, invalidLink: true, invalidPath: true, notDocumented: false, rewrittenLink: true, unusedMergeModuleWith: true };
app.options.setValue('validation', validation);
app.validate(project);
const rootPackage = project.packageName;
for (const name of new Set(entries.values())) {
  if (name.includes('/', name.indexOf('/') + 1)) continue; // a subpath: its package is checked once
  app.options.setValue('validation', { ...Object.fromEntries(Object.keys(validation).map((k) => [k, false])), notExported: true });
  app.options.setValue('intentionallyNotExported', INTENTIONALLY_NOT_EXPORTED.filter((e) => e.startsWith(`${name}/`)));
  project.packageName = name;
  app.validate(project);
}
project.packageName = rootPackage;
if (app.logger.hasErrors() || app.logger.hasWarnings()) fail('TypeDoc reported problems (above)');
if (!check) {
  await app.generateOutputs(project);
  if (app.logger.hasErrors() || app.logger.hasWarnings()) fail('TypeDoc reported problems while rendering (above)');
}
const modules = project.getReflectionsByKind(ReflectionKind.Module).map((m) => m.name);
process.stdout.write(
  `api docs: ${modules.length} entry points (${modules.join(', ')}) ${check ? 'converted and validated' : `written to ${relative(root, join(root, 'docs', 'api'))}/`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);

function fail(message) {
  process.stderr.write(`api docs: ${message}\n`);
  process.exit(1);
}
