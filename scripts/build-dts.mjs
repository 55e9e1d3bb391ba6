#!/usr/bin/env node
// Declarations with declaration maps for the package in the current directory, run by its
// `build` script after tsup (which builds the JavaScript and no declarations: its bundled .d.ts
// cannot carry declaration maps). tsc emits dist/**/*.d.ts with a .d.ts.map beside each, mapping
// back to src/ (which the package ships, so "Go to Definition" lands in the TypeScript source).
// A package with a `require` export also gets a .d.cts twin of every declaration, whose relative
// imports point at the .d.cts twins: `require` consumers see CommonJS types for the CommonJS
// build, as the package's exports promise (what `attw` checks).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const pkgDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const hasRequire = JSON.stringify(pkg.exports ?? {}).includes('"require"');
const configPath = join(pkgDir, 'tsconfig.build.json');

const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
if (error) fail([error]);
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, pkgDir, {
  noEmit: false,
  declaration: true,
  declarationMap: true,
  emitDeclarationOnly: true,
  sourceMap: false,
  rootDir: resolve(pkgDir, 'src'),
  outDir: resolve(pkgDir, 'dist'),
  // Per-package builds emit files, not a composite project.
  composite: false,
  incremental: false,
});
if (parsed.errors.length > 0) fail(parsed.errors);

const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
const diagnostics = ts.getPreEmitDiagnostics(program);
if (diagnostics.length > 0) fail(diagnostics);

// `from './x.js'`, `import('./x.js')`, `export * from '../y.js'`: relative specifiers only.
const RELATIVE_JS = /((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)\.js\2/g;
let files = 0;
const write = (file, text) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  files++;
};
const result = program.emit(
  undefined,
  (file, text) => {
    write(file, text);
    if (!hasRequire) return;
    if (file.endsWith('.d.ts')) {
      const twin = text
        .replace(RELATIVE_JS, (_, lead, quote, path) => `${lead}${quote}${path}.cjs${quote}`)
        .replace(/\/\/# sourceMappingURL=(.*)\.d\.ts\.map\s*$/, '//# sourceMappingURL=$1.d.cts.map\n');
      write(file.replace(/\.d\.ts$/, '.d.cts'), twin);
    } else if (file.endsWith('.d.ts.map')) {
      const map = JSON.parse(text);
      map.file = map.file.replace(/\.d\.ts$/, '.d.cts');
      write(file.replace(/\.d\.ts\.map$/, '.d.cts.map'), JSON.stringify(map));
    }
  },
  undefined,
  true,
);
if (result.diagnostics.length > 0) fail(result.diagnostics);
process.stdout.write(`${pkg.name}: ${files} declaration files${hasRequire ? ' (.d.ts and .d.cts)' : ''} with maps in ${relative(process.cwd(), join(pkgDir, 'dist')) || 'dist'}\n`);

function fail(diags) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => pkgDir, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diags, host));
  process.exit(1);
}
