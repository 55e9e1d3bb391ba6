import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (dir: string, entry = 'index') => fileURLToPath(new URL(`./packages/${dir}/src/${entry}.ts`, import.meta.url));

// Tests run against the TypeScript sources, so `npm test` needs no prior build.
export default defineConfig({
  resolve: {
    alias: {
      // The subpath first: an alias matches by prefix.
      '@baton/core/adapter': src('core', 'adapter'),
      '@baton/core': src('core'),
      '@baton/conformance/servers': src('conformance', 'servers'),
      '@baton/conformance': src('conformance'),
      '@baton/memory': src('adapter-memory'),
      '@baton/sqlite': src('adapter-sqlite'),
      '@baton/redis': src('adapter-redis'),
      '@baton/postgres': src('adapter-postgres'),
      '@baton/nats': src('adapter-nats'),
      '@baton/dashboard': src('dashboard'),
      '@baton/cli': src('cli'),
      '@baton/metrics': src('metrics'),
      '@baton/otel': src('otel'),
      '@baton/prometheus': src('prometheus'),
      '@baton/mysql': src('adapter-mysql'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'chaos/test/**/*.test.ts'],
    pool: 'forks',
    // The suites mostly wait on servers and child processes: four files at a time keep two cores
    // busy (the whole run took 14 min one file per core, 7 min like this).
    maxWorkers: 4,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Four files at a time on two cores can hold a page's render past expect.poll's 1 s default
    // (a CI run failed so): a poll that would pass, passes within 15 s; a wrong value still fails.
    expect: { poll: { timeout: 15_000 } },
  },
});
