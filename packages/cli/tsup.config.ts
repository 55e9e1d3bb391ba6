import { defineConfig } from 'tsup';

export default defineConfig([
  // Declarations with declaration maps: scripts/build-dts.mjs, run after tsup.
  { entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: false, clean: true, sourcemap: true, target: 'node20', tsconfig: 'tsconfig.build.json' },
  // The executables: ESM, with a shebang, loaded by node directly.
  { entry: ['src/bin.ts', 'src/baton-postgres.ts'], format: ['esm'], dts: false, sourcemap: true, target: 'node20', tsconfig: 'tsconfig.build.json', banner: { js: '#!/usr/bin/env node' } },
]);
