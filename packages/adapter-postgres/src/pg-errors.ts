// Maps node-postgres errors to core errors, keeping the driver's error as `cause`, so the
// engine can tell "back off and retry" (unavailable) from "this statement is wrong".
import { BackendError, BackendUnavailableError, BatonError, SchemaError, ValidationError } from '@baton/core';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH']);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, idle session timeout
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57P05']);

interface DriverError {
  code?: unknown;
  message?: unknown;
}

/** True when the error means the connection (not the statement) failed: safe to retry later. */
export function isConnectionError(err: unknown): boolean {
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

/** Wraps a driver error thrown by operation `op` (e.g. "queue.claim") in the matching core error. */
export function mapPgError(err: unknown, op: string, schema: string): BatonError {
  if (err instanceof BatonError) return err;
  const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as DriverError;
  const detail = typeof message === 'string' ? message : String(err);
  if (isConnectionError(err)) {
    return new BackendUnavailableError(`PostgreSQL is unreachable during ${op}: ${detail}. Baton retries once the database is back.`, { cause: err });
  }
  if (code === '3F000' || code === '42P01' || code === '42883') {
    return new SchemaError(
      `${op} failed: ${detail}. The Baton tables in schema "${schema}" are missing or incomplete; run migrate(pool, { schema: "${schema}" }) or \`baton-postgres migrate --schema ${schema}\`.`,
      { cause: err },
    );
  }
  if (code === '22P05' || code === '22021') {
    return new ValidationError(`${op} refused by PostgreSQL: ${detail}. JSONB cannot store the NUL character (\\u0000); remove it from the data.`, { cause: err });
  }
  if (code === '25P02') {
    return new BackendError(`${op} failed: the transaction passed in options.transaction was already aborted by an earlier error; roll it back.`, { cause: err, retryable: false });
  }
  return new BackendError(`${op} failed in PostgreSQL: ${detail}`, { cause: err });
}
