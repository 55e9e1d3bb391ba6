// A pino-compatible logger surface; pino itself is never imported by core.

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => undefined;

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger,
};

/** Removes the password from a connection URL so it can be logged or shown in errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** A pino level name. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type Level = LogLevel;
const LEVELS: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, ...(code === undefined ? {} : { code }), stack: err.stack };
}

/**
 * The default logger: pino's JSON line shape (level, time, msg, bindings, err), written to
 * stderr, warnings and errors only — so a failure is never silent, and a busy worker is quiet.
 * Pass `logger: pino()` for your own, or `silentLogger` for none.
 */
export function stderrLogger(minLevel: Level = 'warn', bindings: Record<string, unknown> = {}): Logger {
  const min = LEVELS[minLevel];
  const at = (level: Level): LogFn =>
    LEVELS[level] < min
      ? noop
      : ((objOrMsg: object | string, msg?: string) => {
          const obj = typeof objOrMsg === 'string' ? {} : (objOrMsg as Record<string, unknown>);
          const line: Record<string, unknown> = { level: LEVELS[level], time: Date.now(), ...bindings, ...obj, msg: typeof objOrMsg === 'string' ? objOrMsg : msg };
          if ('err' in line) line.err = errorFields(line.err);
          let text: string;
          try {
            text = JSON.stringify(line);
          } catch {
            text = JSON.stringify({ level: LEVELS[level], time: Date.now(), msg: line.msg });
          }
          process.stderr.write(`${text}\n`);
        }) as LogFn;
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => stderrLogger(minLevel, { ...bindings, ...more }),
  };
}
