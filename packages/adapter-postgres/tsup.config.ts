import { defineConfig } from 'tsup';

export default defineConfig({
  // `bin` is the `baton-postgres` command (package.json "bin" → dist/bin.js).
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
