import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: false, // declarations with declaration maps: scripts/build-dts.mjs, run after tsup
  clean: true,
  sourcemap: true,
  target: 'node20',
  // import.meta.url (the checkpoint thread resolves the driver from this package) in the CJS build too.
  shims: true,
  tsconfig: 'tsconfig.build.json',
});
