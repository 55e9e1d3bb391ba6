// The one mapper of driver errors: whatever the NATS client or server throws reaches a caller as a
// BatonError subclass naming the operation (`queue.claim`, `tasks.finish`), the original kept as
// `cause`: unreachable server → BackendUnavailableError (retryable), anything else → BackendError.
import { BackendError, BackendUnavailableError, BatonError, formatBytes } from '@baton/core/adapter';
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
  /**
   * "sequence N not found": a delete of a sequence already removed. nats-server 2.9 answers this
   * instead of 10057 when the sequence lies inside the stream (not below its first), which is
   * where a lease or key usually sits while older live entries are kept.
   */
  SequenceNotFound: 10043,
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

/**
 * A delete by sequence refused because the message is not there (any more): another writer
 * deleted it first or, in a KV bucket, the key moved on. Never "this call deleted it", so the
 * caller must re-read before it acts on the entry.
 */
export function isAlreadyGone(err: unknown): boolean {
  const code = jsCode(err);
  return code === JsCode.MessageDeleteFailed || code === JsCode.NoMessageFound || code === JsCode.SequenceNotFound;
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
    err instanceof errors.NoRespondersError ||
    err instanceof errors.RequestError
  ) {
    return true;
  }
  const code = jsCode(err);
  if (code === JsCode.JetStreamNotEnabled || code === JsCode.JetStreamNotEnabledForAccount) return true;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined && cause !== err && isUnavailable(cause)) return true;
    return /ECONNREFUSED|ECONNRESET|disconnect|connection closed|timeout|no responders/i.test(err.message);
  }
  return false;
}

/** Wraps anything thrown during `op` (e.g. "queue.claim") in a BatonError; BatonErrors pass through. */
export function toBatonError(err: unknown, op: string): BatonError {
  if (err instanceof BatonError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (isUnavailable(err)) {
    return new BackendUnavailableError(
      `NATS: ${op} failed: ${detail}. The server is unreachable or JetStream is unavailable; the client reconnects on its own, retry once it is back.`,
      { cause: err },
    );
  }
  return new BackendError(`NATS: ${op} failed: ${detail}.`, { cause: err });
}

/**
 * A value too large for one message on this server. (Core's PayloadTooLargeError is not part of
 * the adapter entry, so the code is what callers can rely on.)
 */
export function payloadTooLarge(what: string, size: number, limit: number): BatonError {
  return new BatonError(
    'PAYLOAD_TOO_LARGE',
    `NATS: ${what} is ${formatBytes(size)}; the server's max_payload allows ${formatBytes(limit)}. Raise max_payload in nats-server.conf or keep large data elsewhere and pass a reference.`,
  );
}
