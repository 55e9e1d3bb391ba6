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

/**
 * Checks that `value` is plain JSON (no cycles, BigInt, functions, symbols, non-finite numbers,
 * class instances other than Date) within the limits, and returns its serialised form. Throws
 * ValidationError / PayloadTooLargeError.
 */
export function serializeJson(value: unknown, what: string, limits: JsonLimits): string {
  walkJson(value, what, limits.maxDepth, false);
  // What passed the walk serialises exactly as its copy would.
  const text = JSON.stringify(value);
  assertSize(Buffer.byteLength(text, 'utf8'), what, limits);
  return text;
}

/**
 * What `JSON.parse(serializeJson(value, …))` returns, with the same checks, in one pass: a copy
 * the caller's later changes to `value` cannot reach. The size is checked against a bound the
 * pass computes, and serialised exactly only when that bound exceeds the limit: on every enqueue
 * this saves a stringify and a parse.
 */
export function copyJson(value: unknown, what: string, limits: JsonLimits): JsonValue {
  const { copy, bound } = walkJson(value, what, limits.maxDepth, true);
  if (bound > limits.maxBytes) assertSize(Buffer.byteLength(JSON.stringify(copy), 'utf8'), what, limits);
  return copy;
}

function assertSize(bytes: number, what: string, limits: JsonLimits): void {
  if (bytes > limits.maxBytes) {
    throw new PayloadTooLargeError(
      `${what} is ${formatBytes(bytes)}; the limit is ${formatBytes(limits.maxBytes)} (maxPayloadBytes). Store large data elsewhere and pass a reference.`,
      { sizeBytes: bytes, limitBytes: limits.maxBytes },
    );
  }
}

// Paths in error messages are built from the key stack only when something is wrong: building
// one string per node on every enqueue cost more than the check itself.
function pathOf(keys: readonly (string | number)[]): string {
  let path = '$';
  for (const k of keys) path += typeof k === 'number' ? `[${k}]` : `.${k}`;
  return path;
}

/** Bytes a JSON number takes at most (`-1.7976931348623157e+308`). */
const MAX_NUMBER_BYTES = 24;
/** UTF-8 bytes one UTF-16 unit of a string takes at most in JSON (an escape `\u001f`). */
const MAX_UNIT_BYTES = 6;

/**
 * One pass over `root`: refuses what JSON cannot carry faithfully (the checks of serializeJson),
 * and, when `copying`, builds what JSON.parse(JSON.stringify(root)) would give — Dates as their
 * ISO text, members whose value is undefined dropped, undefined in arrays as null, -0 as 0,
 * `__proto__` an own data key — along with an upper bound on its serialised size in bytes.
 * Without `copying` (a checkpoint, serialised right after) `copy` is null and nothing is allocated.
 */
function walkJson(root: unknown, what: string, maxDepth: number, copying: boolean): { copy: JsonValue; bound: number } {
  const ancestors = new Set<object>();
  const keys: (string | number)[] = [];
  let bound = 0;
  const visit = (value: unknown, depth: number): JsonValue | undefined => {
    if (depth > maxDepth) {
      throw new ValidationError(`${what} nests deeper than ${maxDepth} levels at ${pathOf(keys)}; flatten it or raise maxPayloadDepth.`);
    }
    switch (typeof value) {
      case 'string':
        bound += 2 + MAX_UNIT_BYTES * value.length;
        return value;
      case 'boolean':
        bound += 5;
        return value;
      case 'number':
        if (!Number.isFinite(value)) {
          throw new ValidationError(`${what} has a non-finite number at ${pathOf(keys)}; JSON cannot carry NaN or Infinity.`);
        }
        bound += MAX_NUMBER_BYTES;
        return value === 0 ? 0 : value;
      case 'bigint':
        throw new ValidationError(`${what} has a BigInt at ${pathOf(keys)}; convert it to a string or number first.`);
      case 'function':
      case 'symbol':
        throw new ValidationError(`${what} has a ${typeof value} at ${pathOf(keys)}; only plain JSON data can be stored.`);
      case 'undefined':
        if (depth === 0) throw new ValidationError(`${what} is undefined; pass null or a JSON value.`);
        return undefined;
      case 'object':
        break;
    }
    bound += 4;
    if (value === null) return null;
    const obj = value as object;
    if (ancestors.has(obj)) throw new ValidationError(`${what} has a cycle at ${pathOf(keys)}; JSON cannot represent cyclic data.`);
    if (obj instanceof Date) {
      const iso = (obj.toJSON() as string | null) ?? null;
      if (iso !== null) bound += 2 + iso.length;
      return iso;
    }
    const isArray = Array.isArray(obj);
    if (!isArray) {
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
        throw new ValidationError(`${what} has a ${name} instance at ${pathOf(keys)}; only plain objects and arrays can be stored.`);
      }
    }
    ancestors.add(obj);
    let out: JsonValue = null;
    if (isArray) {
      const arr = obj as unknown[];
      const copy = copying ? new Array<JsonValue>(arr.length) : null;
      for (let i = 0; i < arr.length; i++) {
        keys.push(i);
        const v = visit(arr[i], depth + 1);
        keys.pop();
        if (copy !== null) copy[i] = v ?? null;
        bound += 1;
      }
      if (copy !== null) out = copy;
    } else {
      const rec = obj as Record<string, unknown>;
      const copy: { [key: string]: JsonValue } | null = copying ? {} : null;
      for (const k of Object.keys(rec)) {
        keys.push(k);
        const v = visit(rec[k], depth + 1);
        keys.pop();
        if (v === undefined) continue;
        bound += 4 + MAX_UNIT_BYTES * k.length;
        if (copy === null) continue;
        // JSON.parse makes `__proto__` an own key; assigning it would set the prototype instead.
        if (k === '__proto__') Object.defineProperty(copy, k, { value: v, writable: true, enumerable: true, configurable: true });
        else copy[k] = v;
      }
      if (copy !== null) out = copy;
    }
    ancestors.delete(obj);
    return out;
  };
  const copy = visit(root, 0) ?? null;
  return { copy: copying ? copy : null, bound };
}

/**
 * Parses stored JSON. Input is data: every key round-trips, `__proto__`, `constructor` and
 * `prototype` included. JSON.parse defines each key as an own data property (it never invokes
 * the `__proto__` setter), so no prototype is reached; callers copy with spread or
 * `Object.defineProperty`, never with `Object.assign` into a fresh object.
 */
export function parseJson<T = JsonValue>(text: string): T {
  return JSON.parse(text) as T;
}

/**
 * JSON with object keys sorted at every level, so equal data gives equal text. Written directly
 * rather than by stringifying a sorted copy: this runs on every enqueue that derives its key.
 */
export function canonicalJson(value: unknown): string {
  return writeCanonical(value) ?? 'null';
}

// Mirrors JSON.stringify: undefined, functions and symbols are dropped from objects and become
// null in arrays; objects with toJSON (Dates) serialise as JSON.stringify does.
function writeCanonical(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) as string | undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value) as string | undefined;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += writeCanonical(value[i]) ?? 'null';
    }
    return `${out}]`;
  }
  const rec = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(rec).sort()) {
    const text = writeCanonical(rec[key]);
    if (text === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
