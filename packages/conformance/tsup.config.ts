import { defineConfig } from 'tsup';

const common = { sourcemap: true, target: 'node20', tsconfig: 'tsconfig.build.json' } as const;

export default defineConfig([
  // ESM only: the suite runs inside vitest, which cannot be loaded from CommonJS. Declarations
  // with declaration maps: scripts/build-dts.mjs, run after tsup.
  { ...common, entry: ['src/index.ts', 'src/servers.ts'], format: ['esm'], dts: false, clean: true },
  // The process suite's child entry: run by node directly, ESM only (top-level await).
  { ...common, entry: ['src/process-worker.ts'], format: ['esm'], dts: false },
]);
