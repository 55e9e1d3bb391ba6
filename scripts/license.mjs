#!/usr/bin/env node
// The repository's LICENSE, shipped in every package: `prepack` copies it into the package
// directory (npm always packs a LICENSE file found there), `postpack` removes the copy again
// (packages/*/LICENSE is gitignored). Run from the package directory: `license.mjs copy|remove`.
import { copyFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../LICENSE', import.meta.url));
const action = process.argv[2];
if (action === 'copy') copyFileSync(root, 'LICENSE');
else if (action === 'remove') rmSync('LICENSE', { force: true });
else {
  process.stderr.write('usage: license.mjs copy|remove\n');
  process.exit(2);
}
