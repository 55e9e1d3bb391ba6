// The one place driver errors become core errors. Every error a port method throws passes
// through `mapPgError`, which always returns a BatonError subclass with the original as `cause`,
// so the engine can tell "back off and retry" (unavailable) from "this statement is wrong", and
// nothing untyped (a SyntaxError, a driver TypeError) ever reaches a caller.
import { BackendError, BackendUnavailableError, SchemaError, ValidationError, isBatonError, type BatonError } from '@baton/core/adapter';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH']);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, idle session timeout
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57P05']);

interface DriverError {
  code?: unknown;
  message?: unknown;
}

/** True when the error means the connection (not the statement) failed: safe to retry later. */
function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as DriverError;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  const text = typeof message === 'string' ? message : '';
  return (
    text.includes('Connection terminated') ||
    text.includes('connection error') ||
    text.includes('not queryable') ||
    text.includes('timeout exceeded when trying to connect') ||
    text.includes('Cannot use a pool after calling end')
  );
}

/** Wraps an error thrown by operation `op` (`port.method`, e.g. "queue.claim") in the matching core error. */
export function mapPgError(err: unknown, op: string, schema: string): BatonError {
  if (isBatonError(err)) return err;
  const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as DriverError;
  const detail = typeof message === 'string' ? message : String(err);
  if (isConnectionError(err)) {
    return new BackendUnavailableError(`${op}: PostgreSQL is unreachable (${detail}). Baton retries once the database is back.`, { cause: err });
  }
  if (code === '3F000' || code === '42P01' || code === '42883' || code === '42703') {
    return new SchemaError(
      `${op} failed: ${detail}. The Baton tables in schema "${schema}" are missing or incomplete; run migrate(pool, { schema: "${schema}" }) or \`npx baton --backend "postgres://…?schema=${schema}" migrate\`.`,
      { cause: err },
    );
  }
  if (code === '22P05' || code === '22021') {
    return new ValidationError(`${op} refused by PostgreSQL: ${detail}. Remove the NUL character (\\u0000) from the data.`, { cause: err });
  }
  if (code === '25P02') {
    return new BackendError(`${op} failed: the transaction passed in options.transaction was already aborted by an earlier error; roll it back.`, { cause: err, retryable: false });
  }
  if (typeof code === 'string') return new BackendError(`${op} failed in PostgreSQL (${code}): ${detail}`, { cause: err });
  return new BackendError(`${op} failed: ${detail}`, { cause: err, retryable: false });
}
