// Every error Baton throws is a BatonError with a stable `code`; retryability is data
// (`retryable`), never inferred from a message.

export type BatonErrorCode =
  | 'VALIDATION'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN_TASK_TYPE'
  | 'LEASE_LOST'
  | 'BUDGET_EXCEEDED'
  | 'PERMANENT'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'CONFIG'
  | 'BACKEND'
  | 'BACKEND_UNAVAILABLE'
  | 'SCHEMA'
  | 'NOT_FOUND'
  | 'SHUTDOWN';

export class BatonError extends Error {
  readonly code: BatonErrorCode;
  /** Whether a task that failed with this error may run again. */
  readonly retryable: boolean;
  constructor(code: BatonErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad input from the caller: nothing was stored. */
export class ValidationError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VALIDATION', message, options);
    this.name = 'ValidationError';
  }
}

export class PayloadTooLargeError extends BatonError {
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(message: string, sizes: { sizeBytes: number; limitBytes: number }) {
    super('PAYLOAD_TOO_LARGE', message);
    this.name = 'PayloadTooLargeError';
    this.sizeBytes = sizes.sizeBytes;
    this.limitBytes = sizes.limitBytes;
  }
}

export class UnknownTaskTypeError extends BatonError {
  readonly taskType: string;
  constructor(taskType: string) {
    super('UNKNOWN_TASK_TYPE', `No handler is registered for task type "${taskType}"; call baton.register("${taskType}", handler) in the worker process.`);
    this.name = 'UnknownTaskTypeError';
    this.taskType = taskType;
  }
}

/** The worker no longer holds the task's lease: another worker owns it now, or it was cancelled. */
export class LeaseLostError extends BatonError {
  readonly taskId: string;
  constructor(taskId: string, what = 'write') {
    super('LEASE_LOST', `Task ${taskId}: ${what} refused because this worker's lease was lost (reclaimed after a stall, cancelled or released). Stop work on it; the current holder continues.`);
    this.name = 'LeaseLostError';
    this.taskId = taskId;
  }
}

export class BudgetExceededError extends BatonError {
  constructor(message: string) {
    super('BUDGET_EXCEEDED', message);
    this.name = 'BudgetExceededError';
  }
}

/** Throw from a handler to fail the task at once, without retries. */
export class PermanentError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('PERMANENT', message, options);
    this.name = 'PermanentError';
  }
}

export class TimeoutError extends BatonError {
  constructor(message: string, options: { retryable?: boolean } = {}) {
    super('TIMEOUT', message, options);
    this.name = 'TimeoutError';
  }
}

export class CancelledError extends BatonError {
  constructor(message: string) {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}

/** An option is out of range or inconsistent; thrown at construction. */
export class ConfigError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** The backend refused or failed an operation; `cause` holds the driver's error. */
export class BackendError extends BatonError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('BACKEND', message, { retryable: true, ...options });
    this.name = 'BackendError';
  }
}

/** The backend cannot be reached; safe to retry once it is back. */
export class BackendUnavailableError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BACKEND_UNAVAILABLE', message, { ...options, retryable: true });
    this.name = 'BackendUnavailableError';
  }
}

/** The stored schema is not one this code can use (newer, foreign or corrupt). */
export class SchemaError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SCHEMA', message, options);
    this.name = 'SchemaError';
  }
}

export class NotFoundError extends BatonError {
  constructor(message: string) {
    super('NOT_FOUND', message);
    this.name = 'NotFoundError';
  }
}

/** The worker is shutting down; the task goes back to the queue for another worker. */
export class ShutdownError extends BatonError {
  constructor(message = 'Worker is shutting down; the task was released for another worker.') {
    super('SHUTDOWN', message, { retryable: true });
    this.name = 'ShutdownError';
  }
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof BatonError) return err.retryable;
  return true;
}

/** Turns any thrown value into an Error without losing its message. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : safeString(value));
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
