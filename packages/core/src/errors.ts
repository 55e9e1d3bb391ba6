// Every error Baton throws is a BatonError with a stable `code`; retryability is data
// (`retryable`), never inferred from a message. `instanceof` checks a brand registered under
// Symbol.for, so they hold even when an app ends up with two copies of @baton/core.

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
  | 'SHUTDOWN'
  | 'POISON_PILL'
  | 'CORRUPT_RECORD'
  | 'INVALID_STATE'
  | 'NOT_STARTED';

const BRANDS = new WeakMap<object, symbol>();

/** Makes `instanceof cls` check a global brand instead of prototype identity. */
function brand(cls: abstract new (...args: never[]) => Error, name: string): void {
  const sym = Symbol.for(`@baton/core:${name}`);
  BRANDS.set(cls, sym);
  Object.defineProperty(cls.prototype, sym, { value: true });
}

/** True for any BatonError, from this copy of @baton/core or another. */
export function isBatonError(value: unknown): value is BatonError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[Symbol.for('@baton/core:BatonError')] === true;
}

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

  static override [Symbol.hasInstance](value: unknown): boolean {
    const sym = BRANDS.get(this);
    if (sym === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[sym] === true;
  }
}
brand(BatonError, 'BatonError');

/** Bad input from the caller: nothing was stored. */
export class ValidationError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VALIDATION', message, options);
    this.name = 'ValidationError';
  }
}
brand(ValidationError, 'ValidationError');

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
brand(PayloadTooLargeError, 'PayloadTooLargeError');

export class UnknownTaskTypeError extends BatonError {
  readonly taskType: string;
  constructor(taskType: string) {
    super('UNKNOWN_TASK_TYPE', `No handler is registered for task type "${taskType}"; call baton.register("${taskType}", handler) in the worker process.`);
    this.name = 'UnknownTaskTypeError';
    this.taskType = taskType;
  }
}
brand(UnknownTaskTypeError, 'UnknownTaskTypeError');

/** The worker no longer holds the task's lease: another worker owns it now, or it was cancelled. */
export class LeaseLostError extends BatonError {
  readonly taskId: string;
  constructor(taskId: string, what = 'write') {
    super('LEASE_LOST', `Task ${taskId}: ${what} refused because this worker's lease was lost (reclaimed after a stall, cancelled or released). Stop work on it; the current holder continues.`);
    this.name = 'LeaseLostError';
    this.taskId = taskId;
  }
}
brand(LeaseLostError, 'LeaseLostError');

export class BudgetExceededError extends BatonError {
  constructor(message: string) {
    super('BUDGET_EXCEEDED', message);
    this.name = 'BudgetExceededError';
  }
}
brand(BudgetExceededError, 'BudgetExceededError');

/** Throw from a handler to fail the task at once, without retries. */
export class PermanentError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('PERMANENT', message, options);
    this.name = 'PermanentError';
  }
}
brand(PermanentError, 'PermanentError');

export class TimeoutError extends BatonError {
  constructor(message: string, options: { retryable?: boolean } = {}) {
    super('TIMEOUT', message, options);
    this.name = 'TimeoutError';
  }
}
brand(TimeoutError, 'TimeoutError');

export class CancelledError extends BatonError {
  constructor(message: string) {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}
brand(CancelledError, 'CancelledError');

/** An option is out of range or inconsistent; thrown at construction. */
export class ConfigError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG', message, options);
    this.name = 'ConfigError';
  }
}
brand(ConfigError, 'ConfigError');

/** The backend refused or failed an operation; `cause` holds the driver's error. */
export class BackendError extends BatonError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('BACKEND', message, { retryable: true, ...options });
    this.name = 'BackendError';
  }
}
brand(BackendError, 'BackendError');

/** The backend cannot be reached; safe to retry once it is back. */
export class BackendUnavailableError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BACKEND_UNAVAILABLE', message, { ...options, retryable: true });
    this.name = 'BackendUnavailableError';
  }
}
brand(BackendUnavailableError, 'BackendUnavailableError');

/** The stored schema is not one this code can use (newer, foreign or corrupt). */
export class SchemaError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SCHEMA', message, options);
    this.name = 'SchemaError';
  }
}
brand(SchemaError, 'SchemaError');

/** No task (or other record) with the given id exists: never created, or purged by retention. */
export class NotFoundError extends BatonError {
  readonly id: string | null;
  constructor(message: string, id: string | null = null) {
    super('NOT_FOUND', message);
    this.name = 'NotFoundError';
    this.id = id;
  }
}
brand(NotFoundError, 'NotFoundError');

/** The worker is shutting down; the task goes back to the queue for another worker. */
export class ShutdownError extends BatonError {
  constructor(message = 'Worker is shutting down; the task was released for another worker.') {
    super('SHUTDOWN', message, { retryable: true });
    this.name = 'ShutdownError';
  }
}
brand(ShutdownError, 'ShutdownError');

/** The task is not in a state the operation accepts (e.g. retry of a task that has not finished). */
export class InvalidStateError extends BatonError {
  readonly taskId: string;
  readonly state: string;
  constructor(taskId: string, state: string, message: string) {
    super('INVALID_STATE', message);
    this.name = 'InvalidStateError';
    this.taskId = taskId;
    this.state = state;
  }
}
brand(InvalidStateError, 'InvalidStateError');

export function isRetryable(err: unknown): boolean {
  if (isBatonError(err)) return err.retryable;
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
