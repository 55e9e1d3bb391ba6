// `baton`: argument parsing (node's util.parseArgs), the connection with its 5 s bound, and the
// mapping of every failure to one line and an exit code. The commands live in commands.ts.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createBaton, isBatonError, silentLogger } from '@baton/core';
import { EXIT, type CommandContext } from './command.js';
import { parseBackendUrl, type BackendSpec, type Connection } from './connect.js';
import { COMMANDS as RUN } from './commands.js';
import { clean, style } from './format.js';
import type { Io } from './io.js';
import { COMMANDS as HELP, GLOBAL } from './usage.js';

const CONNECT_TIMEOUT_MS = 5_000;

const GLOBAL_OPTIONS = {
  backend: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the CLI; resolves with the exit code. Never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  let connection: Connection | null = null;
  try {
    const name = argv.find((a) => !a.startsWith('-') && !isGlobalValue(argv, a));
    const command = name === undefined ? undefined : RUN[name];
    if (name !== undefined && command === undefined) {
      io.err(`baton: unknown command "${clean(name, 40)}"; run baton --help for the list.`);
      return EXIT.usage;
    }
    const rest = name === undefined ? argv : argv.filter((a, i) => i !== argv.indexOf(name));
    const { values, positionals } = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) }, allowPositionals: true, strict: true });
    if (values.help || command === undefined) {
      io.out(command === undefined ? GLOBAL : HELP[name!]!);
      return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
    }
    const spec = parseBackendUrl((values.backend as string | undefined) ?? io.env.BATON_BACKEND);
    const color = io.isTTY && !values['no-color'] && io.env.NO_COLOR === undefined;
    connection = await spec.open({ migrate: command.migrate === true });
    const baton = createBaton({ backend: connection.backend, logger: silentLogger, workerId: `baton-cli:${hostname()}:${process.pid}` });
    await withTimeout(baton.start({ worker: false, timers: false, supervisor: false }), CONNECT_TIMEOUT_MS, spec);
    return await command.run({
      args: positionals,
      flags: values as CommandContext['flags'],
      json: values.json === true,
      yes: values.yes === true,
      io,
      s: style(color),
      baton,
      spec,
      now: Date.now(),
    });
  } catch (err) {
    return report(err, io);
  } finally {
    if (connection) await withTimeout(connection.close(), 2_000, null).catch(() => undefined);
  }
}

function isGlobalValue(argv: string[], a: string): boolean {
  const i = argv.indexOf(a);
  return i > 0 && argv[i - 1] === '--backend';
}

async function withTimeout<T>(p: Promise<T>, ms: number, spec: BackendSpec | null): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendTimeout(spec === null ? 'closing the backend timed out' : `cannot reach ${spec.display} within ${ms / 1_000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class BackendTimeout extends Error {}

/** One line, no stack: what went wrong and, where the error says it, what to do. */
function report(err: unknown, io: Io): number {
  if (err instanceof BackendTimeout) {
    io.err(`baton: ${err.message}`);
    return EXIT.backend;
  }
  if (isBatonError(err)) {
    io.err(`baton: ${err.message.split('\n')[0]}`);
    switch (err.code) {
      case 'VALIDATION':
      case 'CONFIG':
        return EXIT.usage;
      case 'BACKEND':
      case 'BACKEND_UNAVAILABLE':
      case 'SCHEMA':
        return EXIT.backend;
      default:
        return EXIT.failed;
    }
  }
  const e = err as { code?: unknown; message?: unknown };
  if (e && e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    io.err(`baton: ${String(e.message).split('.')[0]}; see --help.`);
    return EXIT.usage;
  }
  if (e && typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
    io.err(`baton: ${String(e.message)}`);
    return EXIT.usage;
  }
  io.err(`baton: ${err instanceof Error ? err.message : String(err)}`);
  if (io.env.BATON_DEBUG) io.err(String((err as Error)?.stack ?? ''));
  return EXIT.failed;
}

