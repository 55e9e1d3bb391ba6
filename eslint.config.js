import tseslint from 'typescript-eslint';

// The layering, enforced: core knows no driver and no other package; an adapter knows core's
// adapter entry and its own driver, never another adapter; the conformance suite knows core only.
// `packages/core/test/layering.test.ts` checks that these rules fire.
const DRIVERS = ['pg', 'pg-*', 'ioredis', 'better-sqlite3', 'mysql2', 'mysql2/*', '@nats-io/*'];
const ADAPTERS = ['@baton/memory', '@baton/sqlite', '@baton/redis', '@baton/postgres', '@baton/nats', '@baton/mysql'];
const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: restrict(['@baton/*', ...DRIVERS], 'Core depends on no adapter, no driver and no other @baton package: it talks to backends only through the ports.'),
  },
  {
    files: ['packages/adapter-*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@baton/(?!core/adapter$)',
              message: 'An adapter imports only @baton/core/adapter (the ports and shared helpers) and its own driver — never the user API or another adapter.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/conformance/src/**/*.ts'],
    rules: restrict([...ADAPTERS, ...DRIVERS], 'The conformance suite tests any adapter through the ports: it imports no adapter and no driver.'),
  },
  {
    files: ['packages/*/test/**/*.ts'],
    rules: restrict(ADAPTERS.map((a) => `${a}/*`), 'Tests import a package through its public entries, not its internals (use ../src/… for your own).'),
  },
);
