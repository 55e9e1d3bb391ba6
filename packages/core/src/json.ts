// JSON is the only wire format: payloads, results and checkpoints are plain data,
// never revived into classes, so a stored value cannot smuggle behaviour into a worker.
import { PayloadTooLargeError, ValidationError } from './errors.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JsonLimits {
  /** Largest serialised size in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Checks that `value` is plain JSON (no cycles, BigInt, functions, symbols, undefined
 * inside arrays, non-finite numbers, class instances other than Date) within the limits,
 * and returns its serialised form. Throws ValidationError / PayloadTooLargeError.
 */
export function serializeJson(value: unknown, what: string, limits: JsonLimits): string {
  assertPlainJson(value, what, limits.maxDepth);
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new ValidationError(`${what} is not JSON-serialisable; pass a plain object, array, string, number, boolean or null.`);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new PayloadTooLargeError(
      `${what} is ${formatBytes(bytes)}; the limit is ${formatBytes(limits.maxBytes)} (maxPayloadBytes). Store large data elsewhere and pass a reference.`,
      { sizeBytes: bytes, limitBytes: limits.maxBytes },
    );
  }
  return text;
}

function assertPlainJson(root: unknown, what: string, maxDepth: number): void {
  const seen = new Set<object>();
  const visit = (value: unknown, path: string, depth: number): void => {
    if (depth > maxDepth) {
      throw new ValidationError(`${what} nests deeper than ${maxDepth} levels at ${path}; flatten it or raise maxPayloadDepth.`);
    }
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(value)) {
          throw new ValidationError(`${what} has a non-finite number at ${path}; JSON cannot carry NaN or Infinity.`);
        }
        return;
      case 'bigint':
        throw new ValidationError(`${what} has a BigInt at ${path}; convert it to a string or number first.`);
      case 'function':
      case 'symbol':
        throw new ValidationError(`${what} has a ${typeof value} at ${path}; only plain JSON data can be stored.`);
      case 'undefined':
        if (depth === 0) throw new ValidationError(`${what} is undefined; pass null or a JSON value.`);
        return;
      case 'object':
        break;
    }
    if (value === null) return;
    const obj = value as object;
    if (seen.has(obj)) throw new ValidationError(`${what} has a cycle at ${path}; JSON cannot represent cyclic data.`);
    if (obj instanceof Date) return;
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (!Array.isArray(obj) && proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw new ValidationError(`${what} has a ${name} instance at ${path}; only plain objects and arrays can be stored.`);
    }
    seen.add(obj);
    if (Array.isArray(obj)) {
      obj.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1));
    } else {
      for (const [k, v] of Object.entries(obj)) visit(v, `${path}.${k}`, depth + 1);
    }
    seen.delete(obj);
  };
  visit(root, '$', 0);
}

/** Parses stored JSON without letting `__proto__` / `constructor` keys reach any prototype. */
export function parseJson<T = JsonValue>(text: string): T {
  return JSON.parse(text, (key, value: unknown) => (FORBIDDEN_KEYS.has(key) ? undefined : value)) as T;
}

/** JSON with object keys sorted at every level, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
