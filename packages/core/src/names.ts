import { ConfigError } from './errors.js';

const NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * Checks a schema, key prefix, queue or stream name before an adapter puts it into SQL, keys or
 * subjects: lower-case letters, digits and underscores, starting with a letter or underscore, ≤ 48 chars.
 */
export function validateName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new ConfigError(
      `${field} must match ${NAME} (lower-case letters, digits, underscore; at most 48 characters); got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}
