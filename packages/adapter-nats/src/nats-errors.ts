// Maps driver errors onto core errors: unreachable server → BackendUnavailableError
// (retryable), anything else the server refused → BackendError, both keeping `cause`.
import { BackendError, BackendUnavailableError, BatonError } from '@baton/core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

/** JetStream API error codes this adapter branches on. */
export const JsCode = {
  /** Expected-last-subject-sequence mismatch: a compare-and-set lost. */
  WrongLastSequence: 10071,
  WrongLastSequenceUnknown: 10164,
  /** discard_new_per_subject refused a second message for the subject. */
  MaxMessagesPerSubject: 10077,
  /** Message delete failed: the sequence is gone (the key moved on or was deleted). */
  MessageDeleteFailed: 10057,
  NoMessageFound: 10037,
  StreamNotFound: 10059,
  ConsumerNotFound: 10014,
  StreamNameInUse: 10058,
  JetStreamNotEnabled: 10076,
  JetStreamNotEnabledForAccount: 10039,
} as const;

export function jsCode(err: unknown): number | null {
  return err instanceof JetStreamApiError ? err.code : null;
}

export function isCasFailure(err: unknown): boolean {
  const code = jsCode(err);
  return code === JsCode.WrongLastSequence || code === JsCode.WrongLastSequenceUnknown;
}

/** A missing stream or consumer: the resources were deleted (or the server lost its store); re-create them. */
export function isMissingResource(err: unknown): boolean {
  const code = jsCode(err);
  if (code === JsCode.StreamNotFound || code === JsCode.ConsumerNotFound) return true;
  return err instanceof Error && /stream not found|consumer not found/i.test(err.message);
}

function isUnavailable(err: unknown): boolean {
  if (
    err instanceof errors.TimeoutError ||
    err instanceof errors.ClosedConnectionError ||
    err instanceof errors.ConnectionError ||
    err instanceof errors.DrainingConnectionError ||
    err instanceof errors.NoRespondersError
  ) {
    return true;
  }
  if (err instanceof errors.RequestError) return true;
  const code = jsCode(err);
  if (code === JsCode.JetStreamNotEnabled || code === JsCode.JetStreamNotEnabledForAccount) return true;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined && cause !== err && isUnavailable(cause)) return true;
    return /ECONNREFUSED|ECONNRESET|disconnect|connection closed|timeout|no responders/i.test(err.message);
  }
  return false;
}

/** Wraps a driver error in the core error for `what` (e.g. "claim from queue demo_queue"). */
export function mapError(err: unknown, what: string): BatonError {
  if (err instanceof BatonError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (isUnavailable(err)) {
    return new BackendUnavailableError(
      `NATS: cannot ${what}: ${detail}. The server is unreachable or JetStream is unavailable; the client reconnects on its own, retry once it is back.`,
      { cause: err },
    );
  }
  return new BackendError(`NATS: ${what} failed: ${detail}.`, { cause: err });
}

/** Runs `fn`, turning any driver error into a core error naming the operation. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapError(err, what);
  }
}
