// The checks every option compiler uses (core's and each adapter's), so a bad value is refused
// with the same kind of message everywhere: the field, the accepted range, what was given.
import { ConfigError } from './errors.js';

/** An integer option within [min, max]; `fallback` when undefined. */
export function intOption(field: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${field} must be an integer from ${min} to ${max}; got ${describe(value)}.`);
  }
  return v;
}

/** A finite number option within [min, max]; `fallback` when undefined. */
export function numberOption(field: string, value: unknown, fallback: number, min: number, max = Number.MAX_VALUE): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${field} must be a number from ${min} to ${max}; got ${describe(value)}.`);
  }
  return v;
}

/** One of `allowed`; `fallback` when undefined. */
export function enumOption<T extends string>(field: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  const v = value ?? fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${describe(value)}.`);
  }
  return v as T;
}

export function boolOption(field: string, value: unknown, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`${field} must be true or false; got ${describe(value)}.`);
  return v;
}

/** Renders a rejected value for a message: short, and never a whole object. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
