import { defineConfig } from 'tsup';

const common = { sourcemap: true, target: 'node20', tsconfig: 'tsconfig.build.json' } as const;

export default defineConfig([
  // import.meta.url (the worker script's location) is shimmed for the CommonJS build.
  { ...common, entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: true, clean: true, shims: true },
  // The process suite's child entry: run by node directly, ESM only (top-level await).
  { ...common, entry: ['src/process-worker.ts'], format: ['esm'], dts: false },
]);
