import { defineConfig } from 'tsup';

// The server entry only; the UI is built by Vite into dist/ui first (see package.json "build"),
// so `clean` must stay off here or it would delete the UI.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: false, // declarations with declaration maps: scripts/build-dts.mjs, run after tsup
  clean: false,
  sourcemap: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  // Gives the CJS build an import.meta.url, which assets.ts uses to find dist/ui.
  shims: true,
});
