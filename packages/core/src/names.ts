// Names that reach storage: identifiers an adapter puts into SQL, keys or subjects (schema,
// prefix), and the user-chosen names of task types, queues and groups.
import { ConfigError, ValidationError } from './errors.js';
import { describe } from './option-helpers.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * Checks a schema, key prefix or stream name before an adapter puts it into SQL, keys or
 * subjects: lower-case letters, digits and underscores, starting with a letter or underscore, ≤ 48 chars.
 */
export function validateName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ConfigError(`${field} must match ${IDENTIFIER} (lower-case letters, digits, underscore; at most 48 characters); got ${describe(value)}.`);
  }
  return value;
}

export const MAX_TYPE_LENGTH = 200;
export const MAX_QUEUE_LENGTH = 100;
export const MAX_GROUP_LENGTH = 200;
/** Run and phase ids. */
export const MAX_ID_LENGTH = 200;

// Unpaired UTF-16 surrogates do not survive UTF-8 storage (SQLite, Redis, NATS store a
// replacement character): the stored name would no longer match the registered one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001F\u007F]/;

/** A free-form name (task type, group, run or phase id): non-empty, bounded, valid Unicode, no control characters. */
export function validateText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new ValidationError(`${field} must be a non-empty string of at most ${maxLength} characters; got ${describe(value)}.`);
  }
  if (LONE_SURROGATE.test(value)) throw new ValidationError(`${field} contains an unpaired UTF-16 surrogate, which storage cannot keep; got ${describe(value)}.`);
  if (CONTROL.test(value)) throw new ValidationError(`${field} contains a control character; got ${describe(value)}.`);
  return value;
}

export function validateTaskType(value: unknown): string {
  return validateText('Task type', value, MAX_TYPE_LENGTH);
}

const QUEUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/** A queue name: letters, digits and `_ . : -`, starting with a letter or digit, at most 100 characters. */
export function validateQueueName(value: unknown, field = 'Queue name'): string {
  if (typeof value !== 'string' || !QUEUE.test(value)) {
    throw new ValidationError(`${field} must be 1–${MAX_QUEUE_LENGTH} letters, digits or "_ . : -", starting with a letter or digit; got ${describe(value)}.`);
  }
  return value;
}
