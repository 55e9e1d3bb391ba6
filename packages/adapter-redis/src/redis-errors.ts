// The one place driver errors become Baton errors: every port call goes through the
// connection's `run`, which hands anything that escapes to `toBatonError`. Callers always get a
// BatonError subclass naming the operation (`queue.claim`), with the driver's error as `cause`.
import { BackendError, BackendUnavailableError, isBatonError, type BatonError } from '@baton/core/adapter';

/** Replies that mean "Redis is there but cannot serve now": retry later. */
const UNAVAILABLE_REPLY = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS)\b/;

export function toBatonError(err: unknown, op: string, target: string): BatonError {
  if (isBatonError(err)) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name !== 'ReplyError' || UNAVAILABLE_REPLY.test(e.message)) {
    return new BackendUnavailableError(
      `${op}: Redis at ${target} did not complete it (${e.message}). The write may or may not have been applied; retrying is safe (Baton's writes are idempotent or fenced).`,
      { cause: err },
    );
  }
  return new BackendError(`${op}: Redis at ${target} refused it: ${e.message}`, { cause: err });
}

/** Thrown before anything is sent: the connection is known to be down, or the backend closed. */
export function notSent(op: string, target: string, status: string): BackendUnavailableError {
  return new BackendUnavailableError(
    `${op}: Redis at ${target} is unreachable (connection ${status}); nothing was sent. It is safe to retry once Redis is back; workers reconnect by themselves.`,
  );
}

export function closedError(op: string, target: string): BackendUnavailableError {
  return new BackendUnavailableError(`${op}: the Redis backend (${target}) is closed; nothing was sent. Create a new one with redisBackend().`);
}
