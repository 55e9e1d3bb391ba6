import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (dir: string) => fileURLToPath(new URL(`./packages/${dir}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources, so `npm test` needs no prior build.
export default defineConfig({
  resolve: {
    alias: {
      '@baton/core': src('core'),
      '@baton/conformance': src('conformance'),
      '@baton/memory': src('adapter-memory'),
      '@baton/sqlite': src('adapter-sqlite'),
      '@baton/redis': src('adapter-redis'),
      '@baton/postgres': src('adapter-postgres'),
      '@baton/nats': src('adapter-nats'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
