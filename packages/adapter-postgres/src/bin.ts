#!/usr/bin/env node
// `baton-postgres`: applies or prints Baton's PostgreSQL migrations, for deploy pipelines that
// run DDL with a migration role before the services (runtime role, migrate: false) start.
import pg from 'pg';
import { redactUrl, type Logger, type LogFn } from '@baton/core';
import { migrate, migrationSql, schemaVersion, SCHEMA_VERSION } from './migrate.js';
import { schemaNames } from './schema.js';

const USAGE = `Usage:
  baton-postgres migrate [--schema baton] [--url postgres://…]   apply pending migrations
  baton-postgres status  [--schema baton] [--url postgres://…]   print the schema's version
  baton-postgres sql     [--schema baton] [--after N]           print the SQL (for DBAs)
The URL defaults to $DATABASE_URL. Exit codes: 0 ok, 1 failed, 2 bad usage.
`;

function parse(argv: string[]): { command: string | undefined; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      else flags.set(arg.slice(2), argv[++i] ?? '');
    } else if (command === undefined) {
      command = arg;
    }
  }
  return { command, flags };
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

function stderrLogger(): Logger {
  const log: LogFn = (a: object | string, b?: string) => err(typeof a === 'string' ? a : `${b ?? ''} ${JSON.stringify(a)}`);
  const logger: Logger = { trace: () => undefined, debug: () => undefined, info: log, warn: log, error: log, fatal: log, child: () => logger };
  return logger;
}

async function main(): Promise<number> {
  const { command, flags } = parse(process.argv.slice(2));
  if (command === undefined || flags.has('help') || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  const schema = flags.get('schema') ?? 'baton';
  schemaNames(schema);
  if (command === 'sql') {
    out(migrationSql(schema, { afterVersion: Number(flags.get('after') ?? 0) }));
    return 0;
  }
  if (command !== 'migrate' && command !== 'status') {
    err(`Unknown command "${command}".\n${USAGE}`);
    return 2;
  }
  const url = flags.get('url') ?? process.env.DATABASE_URL;
  if (!url) {
    err('No database: pass --url postgres://user@host:5432/db or set DATABASE_URL.');
    return 2;
  }
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', (e: Error) => err(`connection error: ${e.message}`));
  try {
    if (command === 'status') {
      const version = await schemaVersion(pool, schemaNames(schema));
      out(`schema "${schema}" on ${redactUrl(url)}: version ${version ?? 'none'} (this code: ${SCHEMA_VERSION})`);
      return 0;
    }
    const result = await migrate(pool, { schema, logger: stderrLogger() });
    out(
      result.applied.length > 0
        ? `schema "${schema}" on ${redactUrl(url)}: applied ${result.applied.join(', ')}; now at version ${result.version}`
        : `schema "${schema}" on ${redactUrl(url)}: up to date at version ${result.version}`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Driver messages can quote the connection string; never print its password.
    let message = e instanceof Error ? e.message : String(e);
    for (const url of [parse(process.argv.slice(2)).flags.get('url'), process.env.DATABASE_URL]) {
      if (url) message = message.replaceAll(url, redactUrl(url));
    }
    err(`baton-postgres: ${message}`);
    process.exitCode = 1;
  },
);
