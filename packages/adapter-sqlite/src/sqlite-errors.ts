// The one mapping from driver errors to Baton's typed errors: every failure a caller sees is a
// BatonError subclass naming the operation (`queue.claim`, `tasks.finish`) and the file, with the
// driver's error as `cause`. A BatonError raised by the adapter itself passes through unchanged.
import { BackendError, BackendUnavailableError, BatonError, ConfigError, SchemaError } from '@baton/core/adapter';

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function mapSqliteError(err: unknown, op: string, file: string, busyTimeoutMs: number): BatonError {
  if (err instanceof BatonError) return err;
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new BackendUnavailableError(
      `SQLite database ${file} stayed locked by another connection for over ${busyTimeoutMs} ms during ${op}; the operation can be retried. Raise busyTimeoutMs if long transactions elsewhere hold the lock.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(
      `SQLite database ${file} is read-only for this process (${op}); give it write access to the file and its directory (SQLite writes ${file}-wal and -shm beside it).`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new SchemaError(`${file} is not a usable SQLite database (${op}: ${message}); restore it from a backup or point sqliteBackend at another file.`, {
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL') {
    return new BackendError(`The disk holding ${file} is full (${op}); free space and retry.`, { cause: err });
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    return new BackendUnavailableError(`I/O error on SQLite database ${file} during ${op}: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /not open/i.test(message)) {
    return new BackendUnavailableError(`The SQLite connection to ${file} was closed (${op}); create a new backend with sqliteBackend().`, { cause: err });
  }
  return new BackendError(`SQLite ${op} failed on ${file}: ${message}`, { cause: err });
}
