// The one mapper from mysql2 errors to core's typed errors, keeping the driver's error as
// `cause`: the engine backs off and retries on BackendUnavailableError, and an operator reads
// which operation (`port.method`) failed and why. Nothing untyped reaches a caller.
import { BackendError, BackendUnavailableError, BatonError, ConfigError, SchemaError, ValidationError } from '@baton/core/adapter';

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  fatal?: unknown;
}

// Socket-level failures and the client's own connection errors.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

/** Deadlock or lock-wait timeout: the transaction was rolled back and may simply be run again. */
export function isRetryableConflict(err: unknown): boolean {
  const { code, errno } = driver(err);
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || errno === 1213 || errno === 1205;
}

/** A unique key refused the row (ER_DUP_ENTRY). */
export function isDuplicateKey(err: unknown): boolean {
  const { code, errno } = driver(err);
  return code === 'ER_DUP_ENTRY' || errno === 1062;
}

/** True when the connection (not the statement) failed: safe to retry once the server is back. */
export function isConnectionError(err: unknown): boolean {
  const { code, message, fatal } = driver(err);
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const text = typeof message === 'string' ? message : '';
  return (
    fatal === true ||
    text.includes('Pool is closed') ||
    text.includes('connection is in closed state') ||
    text.includes("Can't add new command when connection is in closed state") ||
    text.includes('connect ETIMEDOUT')
  );
}

/** Wraps an error thrown by operation `op` (e.g. "queue.claim") in the matching core error. */
export function mapMysqlError(err: unknown, op: string, prefix: string): BatonError {
  if (err instanceof BatonError) return err;
  const { code, message } = driver(err);
  const detail = typeof message === 'string' && message.length > 0 ? message : String(err);
  if (isConnectionError(err)) {
    return new BackendUnavailableError(`${op}: MySQL is unreachable (${detail}). Baton retries once the server is back.`, { cause: err });
  }
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_BAD_DB_ERROR':
    case 'ER_NO_DB_ERROR':
      return new ConfigError(`${op}: MySQL refused the connection settings (${detail}). Check the user, password and database in the URI.`, { cause: err });
    case 'ER_NO_SUCH_TABLE':
    case 'ER_BAD_FIELD_ERROR':
      return new SchemaError(
        `${op} failed: ${detail}. The Baton tables with prefix "${prefix}" are missing or incomplete; start the backend with migrate: true (the default) or apply migrations/mysql/*.sql.`,
        { cause: err },
      );
    case 'ER_NET_PACKET_TOO_LARGE':
      return new ValidationError(`${op}: the statement is larger than the server's max_allowed_packet (${detail}); raise it or store less per task.`, { cause: err });
    case 'ER_DATA_TOO_LONG':
    case 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD':
      return new ValidationError(`${op}: a value does not fit its column (${detail}).`, { cause: err });
    default:
      return new BackendError(`${op} failed in MySQL: ${detail}`, { cause: err });
  }
}

function driver(err: unknown): DriverError {
  return typeof err === 'object' && err !== null ? (err as DriverError) : {};
}
